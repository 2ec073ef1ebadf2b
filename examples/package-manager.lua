-- package-manager.lua: publish package versions. The first publisher of a
-- package owns it; only the owner publishes further versions; a version
-- is immutable once published. Contents are byte strings.
local M = {}

function M.init()
  System.files.mkdir('/packages')
end

local function checkName(s, what)
  if type(s) ~= 'string' or not s:match('^[%w._-]+$') or s:match('^%.') or #s > 100 then
    error(what .. ' must be 1-100 letters, digits, ".", "_" or "-"')
  end
end

function M.publish(name, version, contents)
  checkName(name, 'name')
  checkName(version, 'version')
  if type(contents) ~= 'string' then error('contents must be a string') end
  local me = System.caller.id
  if me == nil then error('anonymous callers cannot publish') end
  local dir = '/packages/' .. name
  if System.files.stat(dir) == nil then
    System.files.mkdir(dir)
    System.files.writeFile(dir .. '/owner', me)
  elseif System.files.readFile(dir .. '/owner') ~= me then
    error('permission denied: ' .. name .. ' is owned by someone else')
  end
  if System.files.stat(dir .. '/v-' .. version) ~= nil then
    error('version ' .. version .. ' of ' .. name .. ' already exists')
  end
  System.files.writeFile(dir .. '/v-' .. version, contents)
end

function M.versions(name)
  checkName(name, 'name')
  local out = {}
  for _, f in ipairs(System.files.readdir('/packages/' .. name)) do
    local v = f:match('^v%-(.*)$')
    if v then out[#out + 1] = v end
  end
  return out
end

function M.fetch(name, version)
  checkName(name, 'name')
  checkName(version, 'version')
  return System.files.readFile('/packages/' .. name .. '/v-' .. version)
end

return M
