-- wrk script: POST a signed testing-courier push to /webhooks/carriers/testing-courier.
-- BODY and SIGNATURE come from scripts/load.sh (base64 HMAC-SHA256 of BODY with the secret).
function init(args)
  body = os.getenv("BODY")
  signature = os.getenv("SIGNATURE")
end

function request()
  return wrk.format("POST", "/webhooks/carriers/testing-courier",
    { ["x-testing-courier-signature"] = signature, ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
