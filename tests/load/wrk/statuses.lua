-- operatorStatuses for LOAD_STATUSES (default 500) random corporate numbers per request.
package.path = package.path .. ";" .. (os.getenv("LOAD_WRK_DIR") or ".") .. "/?.lua"
local common = require("common")
common.setup_post()
local QUERY = "query S($n: [String!]!) { operatorStatuses(corporateNumbers: $n) { corporateNumber found " ..
  "ciSectors { code } espaDomains { code } obligations { code } } }"

local COUNT = tonumber(os.getenv("LOAD_STATUSES") or "500")

function init(args)
  math.randomseed(os.time() * 100 + math.floor(os.clock() * 1000000))
end

function request()
  local numbers = {}
  for k = 1, COUNT do
    numbers[k] = '"' .. common.corporate_number(math.random(1, common.operators)) .. '"'
  end
  return wrk.format(nil, nil, nil,
    '{"query":"' .. QUERY .. '","variables":{"n":[' .. table.concat(numbers, ",") .. ']}}')
end
