-- wrk script: POST /tracking/2026-07/trackings with a unique tracking number per request.
-- Used by scripts/load.sh; API_KEY comes from the environment.
local counter = 0
local threads = 0
local prefix = "LT" .. os.time()

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  key = os.getenv("API_KEY")
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"tracking_number":"%s%d-%d","slug":"yunexpress","title":"Load test parcel","order_number":"#%d",'
      .. '"destination_country_region":"USA","shipment_tags":["load"]}',
    prefix, thread_id, counter, counter)
  return wrk.format("POST", "/tracking/2026-07/trackings",
    { ["as-api-key"] = key, ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
