-- persisted-counter.lua: a counter kept as JSON in /counter.json, created
-- by init (which runs once, at deploy, and is recorded in entry 0).
local M = {}

function M.init()
  System.files.writeFile('/counter.json', System.json.encode({ count = 0 }))
end

function M.get()
  return System.json.decode(System.files.readFile('/counter.json')).count
end

function M.increment(by)
  by = by or 1
  if math.type(by) ~= 'integer' or by < 1 then
    error('increment: by must be a positive integer')
  end
  local c = System.json.decode(System.files.readFile('/counter.json'))
  c.count = c.count + by
  System.files.writeFile('/counter.json', System.json.encode(c))
  return c.count
end

return M
