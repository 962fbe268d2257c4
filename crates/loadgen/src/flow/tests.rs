use std::num::NonZeroU32;

use http::HeaderValue;
use http::header::{COOKIE, SET_COOKIE};

use super::*;
use crate::client::AuthHeader;

fn vu(balances: u32, refresh_every: Option<u32>, logout: bool) -> Vu {
    let flow = Flow {
        balances_per_login: NonZeroU32::new(balances).unwrap(),
        refresh_every: refresh_every.and_then(NonZeroU32::new),
        logout,
        think_time: Duration::ZERO,
    };
    let credential = Credential {
        username: "user1".into(),
        password: "pass-1".into(),
    };
    let endpoint = Arc::new(Endpoint::from_addr("127.0.0.1:9".parse().unwrap()));
    Vu::new(endpoint, &credential, flow, Duration::from_secs(1))
}

fn bearer() -> Auth {
    bearer_tokens(br#"{"access_token":"a.b.c","refresh_token":"r1","expires_in":60}"#).unwrap()
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
    let cookie = || {
        Auth::SessionCookie(AuthHeader {
            name: COOKIE,
            value: HeaderValue::from_static("sid=x"),
        })
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
    let login_as = |vu: &Vu| String::from_utf8_lossy(vu.accounts.login_body().bytes()).into_owned();
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
    let mut headers = http::HeaderMap::new();
    headers.append(SET_COOKIE, HeaderValue::from_static("theme=dark; Path=/"));
    headers.append(
        SET_COOKIE,
        HeaderValue::from_static("sid=abc123; HttpOnly; Path=/; Max-Age=60"),
    );
    match session_cookie(&headers) {
        Some(Auth::SessionCookie(header)) => {
            assert_eq!(header.name, COOKIE);
            assert_eq!(header.value, "sid=abc123");
        }
        other => panic!("{other:?}"),
    }
    match bearer() {
        Auth::Bearer {
            authorization,
            refresh: Some(refresh),
        } => {
            assert_eq!(authorization.value, "Bearer a.b.c");
            assert_eq!(&refresh.bytes()[..], br#"{"refresh_token":"r1"}"#);
        }
        other => panic!("{other:?}"),
    }
    assert!(session_cookie(&http::HeaderMap::new()).is_none());
    assert!(bearer_tokens(br#"{"session_id":"x"}"#).is_none());
}
