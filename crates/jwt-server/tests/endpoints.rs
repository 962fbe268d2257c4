//! The shared endpoint suite (authbench-testkit), the same one the session server passes, against
//! the JWT server: each algorithm, each revocation mode, each store.

mod common;

use authbench_jwt_server::Revocation;
use authbench_jwt_server::keys::Alg;
use common::{Backend, start};

authbench_testkit::endpoint_suite!(
    hs256_memory_stateless,
    start(Backend::Memory, Alg::Hs256, Revocation::None)
);
authbench_testkit::endpoint_suite!(
    es256_sqlite_denylist,
    start(Backend::Sqlite, Alg::Es256, Revocation::Denylist)
);
authbench_testkit::endpoint_suite!(
    eddsa_redis_cutoff,
    start(Backend::Redis, Alg::EdDsa, Revocation::Cutoff)
);
authbench_testkit::endpoint_suite!(
    rs256_postgres_denylist,
    start(Backend::Postgres, Alg::Rs256, Revocation::Denylist)
);
authbench_testkit::endpoint_suite!(opaque_redis, common::start_opaque(Backend::Redis));
