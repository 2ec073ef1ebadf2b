-- hello-world.lua: the smallest contract. Every public function of the
-- returned table is a method; this one takes no arguments and writes nothing.
local M = {}

function M.hello()
  return 'Hello, world!'
end

return M
