-- keyserver.lua: admins publish users' public keys. init makes the
-- deployer the first admin and creates /keys.
local M = {}

local function admins()
  return System.json.decode(System.files.readFile('/admins.json'))
end

local function isAdmin(id)
  for _, a in ipairs(admins()) do
    if a == id then return true end
  end
  return false
end

local function requireAdmin()
  local id = System.caller.id
  if id == nil or not isAdmin(id) then error('permission denied: not an admin') end
end

local function checkName(user)
  if type(user) ~= 'string' or not user:match('^[%w._:-]+$') or user:match('^%.') then
    error('invalid user name')
  end
end

function M.init()
  System.files.mkdir('/keys')
  System.files.writeFile('/admins.json', System.json.encode({ System.caller.id or 'nobody' }))
end

function M.listAdmins()
  return admins()
end

function M.addAdmin(id)
  requireAdmin()
  checkName(id)
  local a = admins()
  if not isAdmin(id) then a[#a + 1] = id end
  System.files.writeFile('/admins.json', System.json.encode(a))
end

function M.setKey(user, key)
  requireAdmin()
  checkName(user)
  if type(key) ~= 'string' or #key == 0 then error('key must be a non-empty string') end
  System.files.writeFile('/keys/' .. user, key)
end

function M.getKey(user)
  checkName(user)
  if System.files.stat('/keys/' .. user) == nil then return nil end
  return System.files.readFile('/keys/' .. user)
end

function M.listUsers()
  return System.files.readdir('/keys')
end

return M
