-- POSTs one fixed GraphQL document (LOAD_QUERY) on every request.
package.path = package.path .. ";" .. (os.getenv("LOAD_WRK_DIR") or ".") .. "/?.lua"
local common = require("common")
common.setup_post()
wrk.body = '{"query":"' .. os.getenv("LOAD_QUERY") .. '"}'
