-- seawatch schema, version 3: JT/T 808 terminals and the authentication codes issued to them.

-- A terminal registers once (0x0100) and receives an authentication code (0x8100) that it presents on
-- every later connection (0x0102). The registration data identifies the device for the registry.
CREATE TABLE terminals (
    terminal        text PRIMARY KEY,            -- the header's terminal phone/ID, digits
    auth_code       text NOT NULL,
    registered_at   timestamptz NOT NULL DEFAULT now(),
    registration    jsonb NOT NULL DEFAULT '{}', -- province, city, manufacturer, model, device id, plate
    last_auth_at    timestamptz
);
