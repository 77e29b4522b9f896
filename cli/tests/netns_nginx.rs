//! A real nginx (the Debian package) inside a lab node, fetched from another node (as root).
//!
//! Input: a two-node lab; web's /etc/nginx and /var/www rendered into its root dir before up.
//! Output: the page, fetched by curl inside the client node and by halab's own socket in it;
//! nginx's pid and logs in the node's private /run and /var/log; a clean stop by pidfile.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{init_cmd, unique_lab};
use halab_netns::{self as netns, IfPlan, NetPlan, NetnsPlan, NodePlan};
use nix::sys::signal::Signal;

const NGINX_CONF: &str = "\
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
events { worker_connections 64; }
http {
    access_log /var/log/nginx/access.log;
    server {
        listen 10.77.9.3:80;
        root /var/www/html;
    }
}
";

fn node(name: &str, addr: &str) -> NodePlan {
    NodePlan {
        name: name.into(),
        hostname: name.into(),
        interfaces: vec![IfPlan {
            network: "lan".into(),
            ifname: "eth0".into(),
            addr: addr.parse().expect("addr"),
            prefix: 24,
        }],
        sysctls: Vec::new(),
        hosts_file: "127.0.0.1 localhost\n10.77.9.2 client\n10.77.9.3 web\n".into(),
        host_like: false,
    }
}

#[test]
fn nginx_in_a_node_serves_another_node() {
    assert!(
        std::path::Path::new("/usr/sbin/nginx").exists(),
        "nginx is not installed: apt-get install nginx"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = NetnsPlan {
        lab: unique_lab("w"),
        state_dir: dir.path().join("lab"),
        networks: vec![NetPlan {
            name: "lan".into(),
            cidr: "10.77.9.0/24".parse().expect("cidr"),
        }],
        nodes: vec![node("client", "10.77.9.2"), node("web", "10.77.9.3")],
    };
    // Rendered files go to the node's root dir before up.
    let web_root = netns::layout::node_root(&plan.state_dir, "web");
    fs::create_dir_all(web_root.join("etc/nginx")).expect("mkdir");
    fs::write(web_root.join("etc/nginx/nginx.conf"), NGINX_CONF).expect("conf");
    fs::create_dir_all(web_root.join("www/html")).expect("mkdir");
    fs::write(web_root.join("www/html/index.html"), "hello from web\n").expect("page");
    let lab = netns::up(&plan, &init_cmd()).expect("up").into_guard();
    let (client, web) = (
        lab.node("client").expect("client"),
        lab.node("web").expect("web"),
    );

    let check = web.exec(&["nginx", "-t"]).expect("nginx -t");
    assert!(check.success(), "{check:?}");
    let pid = web
        .spawn_daemon(&["nginx"], "/run/nginx.pid")
        .expect("start nginx");
    assert!(
        web.pidfile_alive("/run/nginx.pid").expect("kill -0"),
        "nginx (pid {pid} in web) is not running"
    );
    // The master is the node's, not the host's: its pidfile is only in the node's /run.
    assert!(!fs::read_to_string("/run/nginx.pid").is_ok_and(|p| p.trim() == pid.to_string()));

    let curl = client
        .exec(&["curl", "-sS", "--max-time", "2", "http://10.77.9.3/"])
        .expect("curl");
    assert!(curl.success(), "{curl:?}");
    assert_eq!(curl.stdout, "hello from web\n");
    let raw = client
        .in_netns(|| -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(
                &"10.77.9.3:80".parse().expect("addr"),
                Duration::from_secs(2),
            )?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        })
        .expect("enter client")
        .expect("http from halab's socket in client");
    assert!(
        raw.starts_with("HTTP/1.1 200") && raw.ends_with("hello from web\n"),
        "{raw}"
    );

    let access = fs::read_to_string(web.host_path("/var/log/nginx/access.log").expect("mapped"))
        .expect("access log");
    assert_eq!(
        access
            .lines()
            .filter(|l| l.starts_with("10.77.9.2 "))
            .count(),
        2,
        "{access}"
    );

    assert!(
        web.signal_pidfile("/run/nginx.pid", Signal::SIGQUIT)
            .expect("stop nginx")
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while web.signal_pid(pid, None).expect("kill -0") {
        assert!(Instant::now() < deadline, "nginx did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    let report = lab.down().expect("down");
    assert_eq!(report.killed, 0, "{report:?}");
    assert!(netns::leftovers(&netns::names::switch_ns(&plan.lab)).is_empty());
}
