//! The pool's idle rule on real HTTP/2 connections over loopback TCP.

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::super::dial::{self, Outcome};
use super::*;

const IDLE: Duration = Duration::from_millis(200);

/// An h2c server for one connection that says when it has ended.
async fn server() -> (SocketAddr, oneshot::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut conn = h2::server::Builder::new()
            .enable_connect_protocol()
            .handshake::<_, Bytes>(tcp)
            .await
            .unwrap();
        while let Some(Ok(_)) = conn.accept().await {}
        let _ = tx.send(());
    });
    (addr, rx)
}

async fn pooled(pool: &'static Pool) -> (Key, Lease, oneshot::Receiver<()>) {
    let (addr, ended) = server().await;
    let target = Target::parse(&format!("ws://{addr}/")).unwrap();
    let opts = ConnectOptions::default();
    let Ok(Outcome::Http2(dialed)) = dial::dial(&target, &opts, true).await else {
        panic!("no HTTP/2 connection");
    };
    let key = Key::of(&target, &opts);
    let lease = pool.add(key.clone(), *dialed);
    (key, lease, ended)
}

fn leaked_pool() -> &'static Pool {
    Box::leak(Box::new(Pool::new(IDLE)))
}

#[tokio::test]
async fn a_connection_without_streams_closes_after_the_idle_time() {
    let pool = leaked_pool();
    let (key, lease, ended) = pooled(pool).await;
    // A second socket shares it.
    let second = pool.find(&key).expect("room for a second stream");
    assert_eq!(pool.len(), 1);
    drop(lease);
    drop(second);
    tokio::time::timeout(Duration::from_secs(20), ended)
        .await
        .expect("the idle connection never closed")
        .unwrap();
    assert_eq!(pool.len(), 0);
    assert!(pool.find(&key).is_none());
}

#[tokio::test]
async fn a_connection_with_a_stream_stays_past_the_idle_time() {
    let pool = leaked_pool();
    let (key, lease, mut ended) = pooled(pool).await;
    tokio::time::sleep(IDLE * 3).await;
    assert_eq!(pool.len(), 1);
    assert!(ended.try_recv().is_err(), "closed under an open stream");
    // A stream opened and closed again restarts the wait, it does not
    // end the connection at once.
    drop(pool.find(&key).unwrap());
    assert_eq!(pool.len(), 1);
    drop(lease);
    tokio::time::timeout(Duration::from_secs(20), ended)
        .await
        .expect("the idle connection never closed")
        .unwrap();
}

#[tokio::test]
async fn a_retired_connection_takes_no_new_stream() {
    let pool = leaked_pool();
    let (key, lease, _ended) = pooled(pool).await;
    lease.retire(pool);
    assert!(pool.find(&key).is_none());
    assert_eq!(pool.len(), 0);
}
