//! `just bench`: a bounded load test against an in-process Gatehouse on a
//! fresh database, at the default Argon2 cost. Reports login and refresh
//! throughput and `/health/live` latency while logins saturate hashing.
//! Traffic goes to 127.0.0.1 only; every loop stops by time and count.

// The report on stdout is this program's whole purpose.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_server::{Application, Config};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const CLIENTS: usize = 16;
const PHASE: Duration = Duration::from_secs(5);
const MAX_REQUESTS_PER_CLIENT: usize = 100_000;

struct Stats {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Stats {
    fn report(&self, name: &str) {
        let mut l = self.latencies.clone();
        l.sort();
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{name:<34} {:>7.1} req/s  ok {:>6}  errors {:>5}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
            l.len() as f64 / self.elapsed.as_secs_f64(),
            l.len(),
            self.errors,
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            l.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
}

async fn post(client: &awc::Client, url: &str, body: &Value) -> Option<Value> {
    let mut response = client.post(url).send_json(body).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json::<Value>().limit(1 << 20).await.ok()
}

/// Runs `CLIENTS` loops of `step` for `PHASE`, each step timed.
async fn phase<F, Fut>(step: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    let loops = (0..CLIENTS).map(|i| {
        let step = &step;
        async move {
            let (mut ok, mut errors) = (Vec::new(), 0);
            for _ in 0..MAX_REQUESTS_PER_CLIENT {
                if started.elapsed() >= PHASE {
                    break;
                }
                let t = Instant::now();
                if step(i).await {
                    ok.push(t.elapsed())
                } else {
                    errors += 1
                }
            }
            (ok, errors)
        }
    });
    let results = futures_util::future::join_all(loops).await;
    let elapsed = started.elapsed();
    let mut stats = Stats {
        latencies: Vec::new(),
        errors: 0,
        elapsed,
    };
    for (ok, errors) in results {
        stats.latencies.extend(ok);
        stats.errors += errors;
    }
    stats
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let db = TestDatabase::create().await;
    let vars = [
        ("DATABASE_URL", db.url.clone()),
        ("AUTH_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        (
            "AUTH_JWT_SECRET",
            "loadtest-secret-that-is-long-enough-0123456".to_owned(),
        ),
        (
            "AUTH_DATA_KEY",
            "loadtest-data-key-that-is-long-enough-012345".to_owned(),
        ),
    ];
    let config = Config::from_source(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })?;
    let app = Application::build(&config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    println!(
        "Gatehouse load test: {CLIENTS} concurrent clients, {PHASE:?} per phase, Argon2id m=19456 t=2 p=1"
    );

    let mut refresh_tokens = Vec::new();
    for i in 0..CLIENTS {
        let body = json!({ "email": format!("load{i}@example.com"), "password": PASSWORD });
        let r = post(&client, &format!("{base}/v1/auth/register"), &body)
            .await
            .expect("register");
        refresh_tokens.push(std::cell::RefCell::new(
            r["refresh_token"].as_str().unwrap_or_default().to_owned(),
        ));
    }

    let login_url = format!("{base}/v1/auth/login");
    let login = |i: usize| {
        let (client, url) = (&client, &login_url);
        async move {
            let body = json!({ "email": format!("load{i}@example.com"), "password": PASSWORD });
            post(client, url, &body).await.is_some()
        }
    };
    phase(login).await.report("POST /v1/auth/login");

    let refresh_url = format!("{base}/v1/auth/refresh");
    let tokens = &refresh_tokens;
    phase(|i: usize| {
        let (client, url) = (&client, &refresh_url);
        async move {
            let token = tokens[i].borrow().clone();
            match post(client, url, &json!({ "refresh_token": token })).await {
                Some(r) => {
                    *tokens[i].borrow_mut() =
                        r["refresh_token"].as_str().unwrap_or_default().to_owned();
                    true
                }
                None => false,
            }
        }
    })
    .await
    .report("POST /v1/auth/refresh");

    // Health latency while every client hammers login (hashing saturated).
    let health_url = format!("{base}/health/live");
    let probes = async {
        let started = Instant::now();
        let mut latencies = Vec::new();
        while started.elapsed() < PHASE && latencies.len() < 10_000 {
            let t = Instant::now();
            if client
                .get(&health_url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                latencies.push(t.elapsed());
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        Stats {
            elapsed: started.elapsed(),
            latencies,
            errors: 0,
        }
    };
    let (login_stats, health_stats) = futures_util::join!(phase(login), probes);
    login_stats.report("POST /v1/auth/login (with probes)");
    health_stats.report("GET /health/live during logins");

    // Timing of failed logins: an unknown email must cost what a wrong password costs.
    for (name, email) in [
        ("wrong password (known email)", "load0@example.com"),
        ("unknown email", "nobody@example.com"),
    ] {
        let mut latencies = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            let _ = client
                .post(&login_url)
                .send_json(&json!({ "email": email, "password": "not the password" }))
                .await;
            latencies.push(t.elapsed());
        }
        let elapsed = latencies.iter().sum();
        Stats {
            latencies,
            errors: 0,
            elapsed,
        }
        .report(&format!("401 login, {name}"));
    }

    handle.stop(true).await;
    Ok(())
}
