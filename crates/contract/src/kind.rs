//! What a system under test is and how it is set up: the choices a scenario, a server's flags and
//! report.json all name.

names! {
    /// What kind of system a scenario runs.
    pub enum SystemKind("a system kind") {
        /// `authbench serve session`: every request looks its session up in a store.
        Session = "session",
        /// `authbench serve jwt`: every request checks a signed token.
        Jwt = "jwt",
        /// `authbench serve jwt --access-token opaque`: a random access token the issuer keeps
        /// in its store, checked by a lookup (or by introspection at a resource server).
        Opaque = "opaque",
        /// A server the run did not start, reached by URL.
        External = "external",
    }
}

names! {
    /// The JWT signing algorithm. The server's configuration picks it; a token's `alg` header
    /// never does.
    pub enum Alg("a signing algorithm") {
        Hs256 = "HS256",
        Rs256 = "RS256",
        Es256 = "ES256",
        EdDsa = "EdDSA",
    }
}

impl Alg {
    /// Whether tokens are verified with a public key (and the server publishes a JWKS).
    pub const fn is_asymmetric(self) -> bool {
        !matches!(self, Alg::Hs256)
    }
}

names! {
    /// When an authenticated read also writes the session back with a later deadline. It only
    /// matters with a sliding idle timeout, and it decides how many writes the store sees.
    pub enum Touch("a touch policy") {
        /// Reads never write; the session lives until its absolute TTL.
        Never = "never",
        /// Every authenticated request rewrites the idle deadline: one write per request.
        Always = "always",
        /// Rewrites only once less than half of the idle window is left (what express-session's
        /// `rolling` and many frameworks do to save writes).
        HalfTtl = "half-ttl",
    }
}

names! {
    /// What a JWT logout can take back. Every mode drops the refresh family; they differ in what
    /// happens to access tokens already issued, and in what each request costs.
    pub enum Revocation("a revocation mode") {
        /// Stateless: a request checks a signature and nothing else; a logged-out access token
        /// stays valid until it expires.
        None = "none",
        /// Logout stores the token's `jti` until the token would expire; every request looks its
        /// `jti` up (keyed on `jti`, never on the token's bytes).
        Denylist = "denylist",
        /// Logout sets a per-user "not before" time; every request looks the user's cutoff up.
        Cutoff = "cutoff",
    }
}

names! {
    /// How a resource server (`authbench serve resource`) authenticates a request carrying
    /// another service's credential.
    pub enum Verify("a verification style") {
        /// A JWT, with the issuer's published key set (JWKS): no call to the issuer per request.
        Jwks = "jwks",
        /// A session id, read from the session store the issuer writes.
        Store = "store",
        /// Any token, by asking the issuer (RFC 7662) on every request.
        Introspect = "introspect",
    }
}

names! {
    /// What an access token is.
    #[derive(Default)]
    pub enum AccessToken("an access-token format") {
        /// A signed JWT: checked with a key, no store.
        #[default]
        Jwt = "jwt",
        /// A random string the issuer stores, like a session id: checked by a store lookup at
        /// the issuer, or by asking the issuer (introspection, RFC 7662) elsewhere.
        Opaque = "opaque",
    }
}

names! {
    /// Where clients carry a JWT access token.
    pub enum Transport("a token transport") {
        /// `Authorization: Bearer <token>` only.
        Header = "header",
        /// Also an `HttpOnly` cookie set at login and accepted on requests.
        Cookie = "cookie",
    }
}

names! {
    /// Where a server reads balances from on `GET /user/balance`.
    #[derive(Default)]
    pub enum BalanceSource("a balance source") {
        /// One main_DB read per request, as a real application does.
        #[default]
        MainDb = "main-db",
        /// A copy loaded at start: the balance costs nothing, so only auth is measured.
        InProcess = "in-process",
    }
}

names! {
    /// How requests reach a system's replicas, as a load balancer in front of them would send
    /// them.
    pub enum Routing("a routing") {
        /// Each request of a VU goes to the next replica in turn: a login on one, the balance
        /// request after it on another.
        RoundRobin = "round-robin" | "round_robin",
        /// A VU keeps to one replica (as with sticky sessions on a load balancer).
        Sticky = "sticky",
    }
}

names! {
    /// What spreads a spawned system's requests over its replicas.
    pub enum Balancer("a balancer") {
        /// The load generator itself: each VU's requests go straight to a replica.
        Loadgen = "loadgen",
        /// nginx, started by the run in front of the replicas: every request takes its hop.
        Nginx = "nginx",
    }
}

names! {
    /// How load is applied.
    pub enum LoadModel("a load model") {
        /// Steps are numbers of virtual users, each sending its next request when the last
        /// answered.
        Closed = "closed",
        /// Steps are flow arrival rates (flows/s); latency counts from the intended send time.
        Open = "open",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_in_any_case_and_display_one_spelling() {
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().to_lowercase().parse::<Alg>(), Ok(alg));
            assert_eq!(alg.to_string().parse::<Alg>(), Ok(alg));
        }
        assert_eq!("HALF-TTL".parse::<Touch>(), Ok(Touch::HalfTtl));
    }

    #[test]
    fn unknown_names_list_what_is_allowed() {
        let error = "none".parse::<Alg>().unwrap_err().to_string();
        assert_eq!(
            error,
            "\"none\" is not a signing algorithm; use HS256, RS256, ES256 or EdDSA"
        );
        let error = "x".parse::<Transport>().unwrap_err().to_string();
        assert_eq!(
            error,
            "\"x\" is not a token transport; use header or cookie"
        );
    }

    #[test]
    fn serde_reads_the_exact_spelling_and_older_aliases() {
        let routing: Routing = serde_json::from_str("\"round_robin\"").unwrap();
        assert_eq!(routing, Routing::RoundRobin);
        assert_eq!(
            serde_json::to_string(&Routing::RoundRobin).unwrap(),
            "\"round-robin\""
        );
        assert!(serde_json::from_str::<Alg>("\"hs256\"").is_err());
    }
}
