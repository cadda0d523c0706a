-- Shared by the load scripts: the corporate number of synthetic operator i, with the
-- same formula as the peer kit's peer_corporate_number() (so both servers are asked for
-- the same operators), and the request plumbing.
local M = {}

function M.corporate_number(i)
  local office = (i % 47 + 1) * 100 + i % 7
  local seq = (i * 7919) % 1000000
  local base = string.format("%04d01%06d", office, seq)
  local sum = 0
  for n = 1, 12 do
    local d = base:byte(13 - n) - 48
    sum = sum + d * ((n % 2 == 1) and 1 or 2)
  end
  return tostring(9 - sum % 9) .. base
end

function M.setup_post()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local token = os.getenv("LOAD_TOKEN")
  if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end

M.operators = tonumber(os.getenv("LOAD_OPERATORS") or "100000")

return M
