-- counter-factory.lua: a factory contract. Each user gets a counter
-- contract of their own: create("mine") deploys the child contract
-- counter-factory.mine, with its own ledger, owned by the caller, who alone
-- may increment it; anyone may read it, call it or audit it. The factory's
-- ledger records every child it made (its code, limits and the hash of its
-- first entry), and each child's first entry names this factory and the
-- entry that made it, so `vmsctl audit counter-factory --children` checks
-- both ways. Like NodeVMS's provisionVM, but audited.
--
-- A contract makes children only up to its limit "children" (0 unless the
-- deploy says otherwise):
--   vmsctl deploy examples/counter-factory.lua --limit children=100
local M = {}

-- The child's code. Its init gets the deploy's args: here, the owner.
local COUNTER = [[
local C = {}

function C.init(owner)
  System.files.writeFile('/owner', owner)
  System.files.writeFile('/n', '0')
end

function C.increment()
  if System.caller.id ~= System.files.readFile('/owner') then
    error('only the owner may increment this counter')
  end
  local n = tonumber(System.files.readFile('/n')) + 1
  System.files.writeFile('/n', tostring(n))
  return n
end

function C.get() return tonumber(System.files.readFile('/n')) end
function C.owner() return System.files.readFile('/owner') end

return C
]]

function M.init()
  System.files.mkdir('/owners')
end

-- A new counter named NAME, owned by the caller; returns the child's
-- contract name ("counter-factory.NAME").
function M.create(name)
  local owner = System.caller.id
  if owner == nil then error('an anonymous caller cannot own a counter') end
  local child = System.contracts.deploy{
    name = name, code = COUNTER, args = { owner },
    -- a counter needs little: well within the factory's own limits
    limits = { memory = 4 * 1024 * 1024, instructions = 100000 },
  }
  System.files.writeFile('/owners/' .. name, owner)
  return child
end

-- Stop a counter (its owner only): it keeps its ledger, serves no calls.
function M.close(name)
  local st = System.files.stat('/owners/' .. name)
  if st == nil then error('no such counter: ' .. tostring(name)) end
  if System.files.readFile('/owners/' .. name) ~= System.caller.id then
    error('only the owner may close this counter')
  end
  System.contracts.stop(name)
  return true
end

-- Every counter made: { {name=, index=, stopped=}, ... }
function M.counters()
  return System.contracts.list()
end

return M
