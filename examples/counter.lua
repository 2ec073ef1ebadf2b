-- counter.lua: a counter. In NodeVMS this kept the count in a module-level
-- variable; here that is impossible by design: every call runs in a fresh
-- Lua state so results depend on the ledger alone, and state lives in
-- System.files. So the count is persisted in /counter.
local M = {}

local function get()
  local st = System.files.stat('/counter')
  if st == nil then return 0 end
  return tonumber(System.files.readFile('/counter'))
end

function M.get()
  return get()
end

function M.increment()
  local n = get() + 1
  System.files.writeFile('/counter', tostring(n))
  return n
end

return M
