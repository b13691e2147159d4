//! TLS to a real PostgreSQL: a throwaway cluster of this test's own, with
//! TLS on and plain connections refused, and a certificate from a test CA
//! for `localhost` only. `sslmode` and `sslrootcert` must mean what they
//! mean in libpq, `verify-full` above all.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use gatehouse_adapter_postgres::tls::connect;
use gatehouse_adapter_postgres::{PgConfig, PgStore, ensure_database, run_migrations};
use gatehouse_application::ports::Readiness;

/// A PostgreSQL of its own, removed when dropped.
struct TlsCluster {
    dir: PathBuf,
    port: u16,
    ca: PathBuf,
    other_ca: PathBuf,
    server: Child,
}

fn bin(name: &str) -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("PostgreSQL's server binaries (the postgresql package)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(name)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program args…`, as the `postgres` user when we are root (the server
/// refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A CA's certificate, and the issuer that signs with its key.
fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, rcgen::Issuer::new(params, key))
}

impl TlsCluster {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("gatehouse-tls-{}", uuid::Uuid::now_v7()));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let chown = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(chown.success());
        }
        let init = as_postgres(&bin("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(init.success(), "initdb");

        let (ca_cert, issuer) = ca("gatehouse test CA");
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let (other, _) = ca("another CA");
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let cert = write("server.crt", server.pem());
        let key = write("server.key", server_key.serialize_pem());
        let ca = write("ca.pem", ca_cert.pem());
        let other_ca = write("other-ca.pem", other.pem());
        if is_root() {
            for file in [&cert, &key] {
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(file)
                    .status()
                    .unwrap();
            }
        }
        Command::new("chmod").arg("600").arg(&key).status().unwrap();

        let port = free_port();
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{dir}'\n\
             ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\nfsync = off\n",
            dir = dir.display(),
            cert = cert.display(),
            key = key.display(),
        );
        let mut postgresql_conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        std::io::Write::write_all(&mut postgresql_conf, conf.as_bytes()).unwrap();
        // TLS or nothing: a plain connection finds no entry.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let server = as_postgres(&bin("postgres"))
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let cluster = Self {
            dir,
            port,
            ca,
            other_ca,
            server,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the TLS cluster did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        // SIGTERM: a smart shutdown, then the directory goes.
        let _ = Command::new("kill")
            .arg(self.server.id().to_string())
            .status();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(QueryableByName)]
struct Ssl {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

async fn encrypted(url: &str) -> Result<bool, String> {
    let mut conn = connect(url).await.map_err(|e| e.to_string())?;
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(&mut conn)
        .await
        .map(|r| r.ssl)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_and_sslrootcert_mean_what_they_mean_in_libpq() {
    let db = TlsCluster::start();
    let ca = db.ca.display().to_string();
    let other = db.other_ca.display().to_string();

    // Encrypted whoever answers: require, and prefer (the default).
    assert_eq!(
        encrypted(&db.url("127.0.0.1", "sslmode=require")).await,
        Ok(true)
    );
    assert_eq!(encrypted(&db.url("127.0.0.1", "")).await, Ok(true));
    // The server takes TLS only: disable finds no way in.
    assert!(
        encrypted(&db.url("127.0.0.1", "sslmode=disable"))
            .await
            .is_err()
    );

    // verify-full: the chain and the name.
    let full = format!("sslmode=verify-full&sslrootcert={ca}");
    assert_eq!(encrypted(&db.url("localhost", &full)).await, Ok(true));
    let wrong_host = encrypted(&db.url("127.0.0.1", &full)).await;
    let refused = wrong_host.expect_err("the certificate is for localhost only");
    assert!(refused.contains("not valid for name"), "{refused}");
    let wrong_ca = format!("sslmode=verify-full&sslrootcert={other}");
    assert!(encrypted(&db.url("localhost", &wrong_ca)).await.is_err());

    // verify-ca: the chain, whatever the name; require with a root too.
    let chain = format!("sslmode=verify-ca&sslrootcert={ca}");
    assert_eq!(encrypted(&db.url("127.0.0.1", &chain)).await, Ok(true));
    let chain_other = format!("sslmode=verify-ca&sslrootcert={other}");
    assert!(encrypted(&db.url("127.0.0.1", &chain_other)).await.is_err());
    let require_other = format!("sslmode=require&sslrootcert={other}");
    assert!(
        encrypted(&db.url("127.0.0.1", &require_other))
            .await
            .is_err()
    );

    // An unknown mode is refused before any connection.
    let bad = encrypted(&db.url("localhost", "sslmode=sometimes")).await;
    assert!(bad.unwrap_err().contains("sslmode"));
}

/// The whole store over `verify-full`: the database made, migrated, pooled
/// connections answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_runs_over_verify_full() {
    let db = TlsCluster::start();
    let url = format!(
        "postgres://postgres@localhost:{}/gatehouse_tls?sslmode=verify-full&sslrootcert={}",
        db.port,
        db.ca.display()
    );
    ensure_database(&url).await.unwrap();
    assert!(!run_migrations(&url).await.unwrap().is_empty());
    let store = PgStore::connect(&PgConfig::new(url));
    store.ready().await.unwrap();
}
