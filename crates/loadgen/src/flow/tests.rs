use std::num::NonZeroU32;

use bytes::Bytes;
use http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

use super::*;
use crate::client::{AuthHeader, KeptResponse};
use crate::scenario::{CredentialRule, Mapping, Presentation, ProtectedRequest, Source};

fn vu(balances: u32, refresh_every: Option<u32>, logout: bool) -> Vu {
    let flow = Flow {
        balances_per_login: NonZeroU32::new(balances).unwrap(),
        refresh_every: refresh_every.and_then(NonZeroU32::new),
        logout,
        think_time: Duration::ZERO,
        stagger: false,
    };
    let credential = Credential {
        username: "user1".into(),
        password: "pass-1".into(),
    };
    let endpoint = Arc::new(Endpoint::from_addr("127.0.0.1:9".parse().unwrap()));
    Vu::new(endpoint, &credential, flow, Duration::from_secs(1))
}

fn answer(cookies: &[&'static str], body: &'static [u8]) -> KeptResponse {
    let mut headers = HeaderMap::new();
    for cookie in cookies {
        headers.append(SET_COOKIE, HeaderValue::from_static(cookie));
    }
    KeptResponse {
        headers,
        body: Bytes::from_static(body),
    }
}

fn bearer() -> Auth {
    let body = br#"{"access_token":"a.b.c","refresh_token":"r1","expires_in":60}"#;
    learn(&FlowRoutes::default(), &answer(&[], body)).unwrap()
}

/// Walks the flow with every request succeeding, starting logged in with `auth`.
fn walk(vu: &mut Vu, auth: fn() -> Auth, steps: usize) -> Vec<&'static str> {
    (0..steps)
        .map(|_| {
            let operation = vu.next;
            if operation == Operation::Login {
                vu.auth = auth();
            }
            vu.advance(operation, Outcome::Ok);
            operation.as_str()
        })
        .collect()
}

#[test]
fn bearer_flow_refreshes_every_k_balances_then_logs_out() {
    let mut vu = vu(3, Some(2), true);
    let walked = walk(&mut vu, bearer, 7);
    assert_eq!(
        walked,
        [
            "login", "balance", "balance", "refresh", "balance", "logout", "login"
        ]
    );
}

#[test]
fn cookie_sessions_skip_refresh_and_without_logout_log_in_again() {
    let cookie = || Auth::LoggedIn {
        header: AuthHeader {
            name: COOKIE,
            value: HeaderValue::from_static("sid=x"),
        },
        refresh: None,
    };
    let mut vu = vu(2, Some(1), false);
    assert_eq!(walk(&mut vu, cookie, 3), ["login", "balance", "balance"]);
    assert_eq!(vu.next_operation(), Operation::Login);
    assert_eq!(vu.auth_style(), None);
}

#[test]
fn each_new_flow_logs_in_as_the_vus_next_own_account_and_a_rejection_keeps_it() {
    let flow = Flow {
        balances_per_login: NonZeroU32::new(1).unwrap(),
        refresh_every: None,
        logout: true,
        think_time: Duration::ZERO,
        stagger: false,
    };
    let accounts: Vec<Credential> = ["user1", "user3"]
        .iter()
        .map(|name| Credential {
            username: (*name).into(),
            password: "p".into(),
        })
        .collect();
    let endpoint = Arc::new(Endpoint::from_addr("127.0.0.1:9".parse().unwrap()));
    let mut vu = Vu::with_accounts(endpoint, &accounts, flow, Duration::from_secs(1));
    let login_as = |vu: &Vu| {
        let body = vu.accounts.login_body().expect("a login body");
        String::from_utf8_lossy(body.bytes()).into_owned()
    };
    assert!(login_as(&vu).contains("user1"));
    walk(&mut vu, bearer, 3); // login, balance, logout
    assert!(
        login_as(&vu).contains("user3"),
        "the next flow is the next account"
    );
    vu.advance(Operation::Balance, Outcome::AuthRejected);
    assert!(
        login_as(&vu).contains("user3"),
        "a rejection retries the same account"
    );
    walk(&mut vu, bearer, 3);
    assert!(login_as(&vu).contains("user1"), "and round again");
}

#[test]
fn a_staggered_vu_cuts_only_its_first_login_short() {
    let mut flow = vu(10, None, false).flow;
    flow.stagger = true;
    let credential = Credential {
        username: "user1".into(),
        password: "p".into(),
    };
    let endpoint = Arc::new(Endpoint::from_addr("127.0.0.1:9".parse().unwrap()));
    // VU 0's share: 0.618 of 10, rounded up.
    let mut vu = Vu::new(endpoint, &credential, flow, Duration::from_secs(1)).staggered(0);
    let walked = walk(&mut vu, bearer, 1 + 7 + 1 + 10 + 1);
    let logins: Vec<usize> = walked
        .iter()
        .enumerate()
        .filter(|(_, op)| **op == "login")
        .map(|(at, _)| at)
        .collect();
    assert_eq!(logins, [0, 8, 19], "{walked:?}");
}

#[test]
fn staggered_first_logins_spread_over_the_cycle_for_any_number_of_vus() {
    let mut flow = vu(1000, None, false).flow;
    assert_eq!(flow.first_login_balances(3), 1000, "without stagger, whole");
    flow.stagger = true;
    for vus in [4_usize, 16, 64] {
        let mut shares: Vec<u32> = (0..vus).map(|i| flow.first_login_balances(i)).collect();
        shares.sort_unstable();
        assert!(shares.iter().all(|&s| (1..=1000).contains(&s)));
        // Evenly spread: no gap between neighbours (or from the ends) much over 1000 / vus.
        let gaps = shares
            .windows(2)
            .map(|w| w[1] - w[0])
            .chain([shares[0], 1000 - shares[vus - 1]]);
        let widest = gaps.max().unwrap();
        assert!(widest <= 2 * 1000 / vus as u32 + 1, "{vus} VUs: {shares:?}");
    }
}

#[test]
fn a_rejected_credential_or_failed_login_goes_back_to_login() {
    let mut vu = vu(5, None, true);
    vu.auth = bearer();
    vu.advance(Operation::Login, Outcome::Ok);
    vu.advance(Operation::Balance, Outcome::Failed);
    assert_eq!(vu.next_operation(), Operation::Balance);
    vu.advance(Operation::Balance, Outcome::AuthRejected);
    assert_eq!(vu.next_operation(), Operation::Login);
    assert_eq!(vu.auth_style(), None);
    vu.advance(Operation::Login, Outcome::Failed);
    assert_eq!(vu.next_operation(), Operation::Login);
}

#[test]
fn login_answers_reveal_the_auth_style() {
    let routes = FlowRoutes::default();
    let session = answer(
        &[
            "theme=dark; Path=/",
            "sid=abc123; HttpOnly; Path=/; Max-Age=60",
        ],
        b"",
    );
    match learn(&routes, &session) {
        Some(Auth::LoggedIn {
            header,
            refresh: None,
        }) => {
            assert_eq!(header.name, COOKIE);
            assert_eq!(header.value, "sid=abc123");
        }
        other => panic!("{other:?}"),
    }
    match bearer() {
        Auth::LoggedIn {
            header,
            refresh: Some(refresh),
        } => {
            assert_eq!(header.name, AUTHORIZATION);
            assert_eq!(header.value, "Bearer a.b.c");
            assert_eq!(&refresh.bytes()[..], br#"{"refresh_token":"r1"}"#);
        }
        other => panic!("{other:?}"),
    }
    assert!(learn(&routes, &answer(&[], b"")).is_none());
    assert!(
        learn(
            &routes,
            &answer(&["sid=; Max-Age=0"], br#"{"session_id":"x"}"#)
        )
        .is_none()
    );
}

fn mapped(credential: CredentialRule) -> FlowRoutes {
    FlowRoutes::new(&Mapping {
        credential: vec![credential],
        ..Mapping::reference()
    })
}

#[test]
fn a_mapping_finds_credentials_where_it_says_and_sends_them_as_it_says() {
    let nested = mapped(CredentialRule {
        from: Source::Json("/data/token".into()),
        send: Presentation::Header("x-auth".into()),
    });
    let body = br#"{"data":{"token":"t-1"},"access_token":"not-this"}"#;
    let learnt = learn(&nested, &answer(&[], body)).expect("credentials");
    let header = learnt.header().unwrap();
    assert_eq!(
        (header.name.as_str(), header.value.to_str().unwrap()),
        ("x-auth", "t-1")
    );
    assert!(learn(&nested, &answer(&[], br#"{"data":{"token":7}}"#)).is_none());

    let cookie = mapped(CredentialRule {
        from: Source::Cookie("connect.sid".into()),
        send: Presentation::Cookie("connect.sid".into()),
    });
    let learnt = learn(
        &cookie,
        &answer(&["sid=other", "connect.sid=s%3Aabc; Path=/"], b""),
    );
    let header = learnt.as_ref().and_then(Auth::header).expect("credentials");
    assert_eq!(header.value, "connect.sid=s%3Aabc");
    assert!(learn(&cookie, &answer(&["sid=abc"], b"")).is_none());

    let from_header = mapped(CredentialRule {
        from: Source::Header("x-session".into()),
        send: Presentation::Bearer,
    });
    let mut reply = answer(&[], b"");
    reply
        .headers
        .insert("x-session", HeaderValue::from_static("h-9"));
    let learnt = learn(&from_header, &reply).expect("credentials");
    assert_eq!(learnt.header().unwrap().value, "Bearer h-9");
}

#[test]
fn protected_requests_are_taken_in_weighted_turn() {
    let reference = Mapping::reference();
    let request = |path: &str, weight| {
        let mut route = reference.requests[0].route.clone();
        route.path = path.to_owned();
        ProtectedRequest { route, weight }
    };
    let routes = FlowRoutes::new(&Mapping {
        requests: vec![request("/a", 2), request("/b", 1)],
        ..reference.clone()
    });
    let mut vu = vu(6, None, false);
    vu.routes = Arc::new(routes);
    vu.auth = bearer();
    let mut paths = Vec::new();
    for _ in 0..6 {
        let (call, _) = call_for(
            Operation::Balance,
            &vu.routes,
            vu.protected_sent,
            &vu.auth,
            None,
        );
        paths.push(call.path.path().to_owned());
        vu.protected_sent += 1;
    }
    assert_eq!(paths, ["/a", "/b", "/a", "/a", "/b", "/a"]);
}
