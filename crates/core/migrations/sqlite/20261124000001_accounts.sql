-- main_DB: the application's own accounts. Sessions live elsewhere (the session store).
CREATE TABLE IF NOT EXISTS accounts (
    username      TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    balance_cents INTEGER NOT NULL
);
