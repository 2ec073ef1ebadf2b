-- guestlist.lua: the issue's example. Callers RSVP under their own id;
-- a second RSVP replaces the first.
local M = {}

function M.init()
  System.files.mkdir('/rsvps')
end

function M.RSVP(name, isAttending, reason)
  if type(name) ~= 'string' or #name == 0 or #name > 200 then
    error('name must be a non-empty string of at most 200 bytes')
  end
  if type(isAttending) ~= 'boolean' then
    error('isAttending must be true or false')
  end
  if reason ~= nil and (type(reason) ~= 'string' or #reason > 1000) then
    error('reason must be a string of at most 1000 bytes')
  end
  local id = System.caller.id
  if id == nil then error('anonymous callers cannot RSVP') end
  -- ids like "unix:alice" are fine as file names; "/" would not be
  if id:find('/', 1, true) then error('caller id cannot contain "/"') end
  System.files.writeFile('/rsvps/' .. id .. '.json',
    System.json.encode({ id = id, name = name, isAttending = isAttending, reason = reason }))
end

function M.listRSVPs()
  local out = {}
  for _, f in ipairs(System.files.readdir('/rsvps')) do
    out[#out + 1] = System.json.decode(System.files.readFile('/rsvps/' .. f))
  end
  return out
end

return M
