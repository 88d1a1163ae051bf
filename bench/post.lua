-- wrk script: POST the JSON body in the file $BENCH_BODY, with a Bearer token if $BENCH_TOKEN;
-- or, with $BENCH_REQUESTS, each request of that file in turn (a line each: path, token and
-- body, tab-separated; an empty token sends none).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local turns = os.getenv("BENCH_REQUESTS")
if turns and turns ~= "" then
  local requests = {}
  for line in io.lines(turns) do
    local path, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = { ["Content-Type"] = "application/json" }
    if token ~= "" then
      headers["Authorization"] = "Bearer " .. token
    end
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
  local next_turn = 0
  request = function()
    next_turn = next_turn % #requests + 1
    return requests[next_turn]
  end
else
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
  wrk.body = file:read("*a")
  file:close()
end
