-- Shared by the load scripts: the corporate number of synthetic operator i and the
-- request plumbing. LOAD_NUMBERS=peer (default): the peer kit's peer_corporate_number()
-- (so both servers are asked for the same operators); LOAD_NUMBERS=generated: the numbers
-- of `scope-registry generate` (base 800,000,000,000 + i).
local M = {}

local GENERATED = os.getenv("LOAD_NUMBERS") == "generated"

local function with_check_digit(base)
  local sum = 0
  for n = 1, 12 do
    local d = base:byte(13 - n) - 48
    sum = sum + d * ((n % 2 == 1) and 1 or 2)
  end
  return tostring(9 - sum % 9) .. base
end

function M.corporate_number(i)
  if GENERATED then return with_check_digit(string.format("%012.0f", 800000000000 + i)) end
  local office = (i % 47 + 1) * 100 + i % 7
  local seq = (i * 7919) % 1000000
  return with_check_digit(string.format("%04d01%06d", office, seq))
end

function M.setup_post()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local token = os.getenv("LOAD_TOKEN")
  if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end

M.operators = tonumber(os.getenv("LOAD_OPERATORS") or "100000")

return M
