-- files-archive.lua: write and read files under /files (contents are byte
-- strings; no encoding needed).
local M = {}

function M.init()
  System.files.mkdir('/files')
end

local function path(name)
  if type(name) ~= 'string' or not name:match('^[%w._-]+$') or name:match('^%.') then
    error('name must be letters, digits, ".", "_" or "-" (not starting with ".")')
  end
  return '/files/' .. name
end

function M.write(name, data)
  if type(data) ~= 'string' then error('data must be a string') end
  System.files.writeFile(path(name), data)
end

function M.read(name)
  return System.files.readFile(path(name))
end

function M.list()
  return System.files.readdir('/files')
end

return M
