//! The shared endpoint suite (authbench-testkit), against the session server on each of the four
//! session stores. Redis and Postgres are real servers started by the harness.

mod common;

use common::{Backend, start};

authbench_testkit::endpoint_suite!(memory, start(Backend::Memory));
authbench_testkit::endpoint_suite!(sqlite, start(Backend::Sqlite));
authbench_testkit::endpoint_suite!(redis, start(Backend::Redis));
authbench_testkit::endpoint_suite!(postgres, start(Backend::Postgres));
