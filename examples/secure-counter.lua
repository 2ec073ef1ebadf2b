-- secure-counter.lua: a counter only its owner can increment. The first
-- caller to claimOwnership becomes the owner.
local M = {}

local function owner()
  if System.files.stat('/owner') == nil then return nil end
  return System.files.readFile('/owner')
end

function M.claimOwnership()
  local me = System.caller.id
  if me == nil then error('anonymous callers cannot own the counter') end
  local o = owner()
  if o ~= nil and o ~= me then error('already owned by ' .. o) end
  System.files.writeFile('/owner', me)
end

function M.get()
  if System.files.stat('/counter') == nil then return 0 end
  return tonumber(System.files.readFile('/counter'))
end

function M.increment()
  local me = System.caller.id
  if me == nil or me ~= owner() then error('permission denied: only the owner can increment') end
  local n = M.get() + 1
  System.files.writeFile('/counter', tostring(n))
  return n
end

return M
