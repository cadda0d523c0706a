-- Operator look-up by a random corporate number, with its designations' sector/domain
-- codes (the same load as the peer kit's lookup.lua).
package.path = package.path .. ";" .. (os.getenv("LOAD_WRK_DIR") or ".") .. "/?.lua"
local common = require("common")
common.setup_post()
local QUERY = "query L($cn: String!) { operator(corporateNumber: $cn) { corporateNumber nameJa " ..
  "designations { regime sector { code } domain { code } } } }"

function init(args)
  math.randomseed(os.time() * 100 + math.floor(os.clock() * 1000000))
end

function request()
  local cn = common.corporate_number(math.random(1, common.operators))
  return wrk.format(nil, nil, nil, '{"query":"' .. QUERY .. '","variables":{"cn":"' .. cn .. '"}}')
end
