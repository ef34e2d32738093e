-- wrk script: GET /tracking/2026-07/trackings/{id} over ids listed one a line in IDS_FILE.
local ids = {}

function init(args)
  key = os.getenv("API_KEY")
  for line in io.lines(os.getenv("IDS_FILE")) do
    ids[#ids + 1] = line
  end
  index = math.random(#ids)
end

function request()
  index = index % #ids + 1
  return wrk.format("GET", "/tracking/2026-07/trackings/" .. ids[index], { ["as-api-key"] = key })
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
