-- userauth.lua: who is calling? System.caller.id is the authenticated
-- caller ("unix:alice"), a debug name, or nil for anonymous calls.
local M = {}

function M.whoami()
  return { id = System.caller.id, auth = System.caller.auth }
end

return M
