-- wrk script: GET /t/{slug}/{tracking_number} over the paths listed one a line in PATHS_FILE,
-- as shoppers open their parcels' pages (HTML, the server renders each).
local paths = {}

function init(args)
  for line in io.lines(os.getenv("PATHS_FILE")) do
    paths[#paths + 1] = line
  end
  index = math.random(#paths)
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index], { ["Accept-Language"] = "en-US,en;q=0.9" })
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
