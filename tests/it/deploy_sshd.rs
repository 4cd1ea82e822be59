//! `buildout copy --to ssh://…` through a real OpenSSH server (issue 16),
//! opt-in: `BUILDOUT_TEST_SSHD=1` (needs Debian's `openssh-server` and
//! `openssh-client`: `/usr/sbin/sshd`, `ssh`, `ssh-keygen`).
//!
//! The test makes a host key and a client key, an `authorized_keys` and
//! an `sshd_config` (a loopback port, this user, no PAM, `StrictModes
//! no`), starts `sshd -D -f CONFIG` and points `BUILDOUT_SSH` at a script
//! running `ssh -i KEY …` (`BUILDOUT_SSH` names one program, called as
//! `ssh` is: options go into such a script). Copying to 127.0.0.1 into
//! the same store would find everything there already, so the key's
//! forced `command=` runs the host side as the shim of [`crate::deploy`]
//! does: in a private mount namespace (`unshare -rm`) with the host's own
//! store and buildout directory mounted over the build machine's paths,
//! running `$SSH_ORIGINAL_COMMAND`, the command `copy` asked ssh for.

use crate::common::{Run, TestContext, run};
use crate::deploy::{host_verify_clean, namespaces_work};
use crate::deploy_actions::{
    assert_rolled_back, command, host_log, index, setup, skipped, write_config,
};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// Why the test cannot run here, if it cannot.
fn missing() -> Option<String> {
    if std::env::var_os("BUILDOUT_TEST_SSHD").is_none_or(|v| v != "1") {
        return Some("set BUILDOUT_TEST_SSHD=1 to run it".into());
    }
    if !Path::new(SSHD).exists() {
        return Some(format!("{SSHD} is missing (Debian package openssh-server)"));
    }
    // `ssh -V` and `ssh-keygen -?` only print their usage.
    for (tool, arg) in [("ssh", "-V"), ("ssh-keygen", "-?")] {
        if Command::new(tool).arg(arg).output().is_err() {
            return Some(format!(
                "`{tool}` is missing (Debian package openssh-client)"
            ));
        }
    }
    if !namespaces_work() {
        return Some("`unshare -rm` (user namespaces) is not available here".into());
    }
    None
}

fn write_script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn keygen(path: &Path) -> String {
    let r = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
    assert_eq!(r.code, 0, "ssh-keygen: {}", r.stderr);
    fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

/// The running `sshd`, stopped (by its own id) when dropped.
struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts sshd on `port` letting `user` in with `client_key` (public),
/// forced to run `forced`; returns it once the port answers.
fn start_sshd(dir: &Path, port: u16, user: &str, client_key: &str, forced: &Path) -> Sshd {
    let host_key = dir.join("host_key");
    keygen(&host_key);
    let authorized = dir.join("authorized_keys");
    fs::write(
        &authorized,
        format!(
            "command=\"{}\",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding {client_key}\n",
            forced.display()
        ),
    )
    .unwrap();
    let config = dir.join("sshd_config");
    fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
             AuthorizedKeysFile {}\nStrictModes no\nUsePAM no\nPubkeyAuthentication yes\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\nAllowUsers {user}\nLogLevel ERROR\n",
            host_key.display(),
            dir.join("sshd.pid").display(),
            authorized.display(),
        ),
    )
    .unwrap();
    // Privilege separation needs its directory when sshd runs as root.
    let _ = fs::create_dir_all("/run/sshd");
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("sshd.log")).unwrap())
        .spawn()
        .expect("start sshd");
    let sshd = Sshd(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd did not listen on port {port}: {}",
            fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    sshd
}

fn user() -> String {
    let r = run(Command::new("id").arg("-un"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_string()
}

#[test]
fn copy_and_activate_through_a_real_sshd_then_rollback_there() {
    if let Some(why) = missing() {
        skipped(&why);
        return;
    }
    let ctx = TestContext::new();
    let server = index();
    let prod = setup(&ctx);
    let dir = ctx.root.join("ssh");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();

    // The host side of the key: the command ssh was asked for, logged and
    // run in the host's namespace.
    let asked = dir.join("asked.log");
    let forced = dir.join("host-side");
    write_script(
        &forced,
        &format!(
            "#!/bin/sh\n\
             printf '%s\\n' \"$SSH_ORIGINAL_COMMAND\" >> '{asked}'\n\
             HOME='{home}'; export HOME\n\
             BUILDOUT_STORE='{real_store}'; export BUILDOUT_STORE\n\
             BUILDOUT_NO_PROGRESS=1; NO_COLOR=1; export BUILDOUT_NO_PROGRESS NO_COLOR\n\
             PATH='{path}'; export PATH\n\
             exec unshare -rm sh -c 'mount --bind \"$1\" \"$2\" && mount --bind \"$3\" \"$4\" && cd \"$4\" && exec sh -c \"$5\"' \
             sh '{store}' '{real_store}' '{work}' '{real_work}' \"$SSH_ORIGINAL_COMMAND\"\n",
            asked = asked.display(),
            home = ctx.root.join("prod1-home").display(),
            path = std::env::var("PATH").unwrap_or_default(),
            store = prod.store.display(),
            real_store = ctx.store.display(),
            work = prod.work.display(),
            real_work = ctx.work.display(),
        ),
    );
    let client_key: PathBuf = dir.join("client_key");
    let public = keygen(&client_key);
    let port = crate::common::free_loopback_port();
    let user = user();
    let _sshd = start_sshd(&dir, port, &user, &public, &forced);
    let ssh = dir.join("ssh");
    write_script(
        &ssh,
        &format!(
            "#!/bin/sh\nexec ssh -F /dev/null -i '{}' -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \"$@\"\n",
            client_key.display()
        ),
    );
    let to = format!("ssh://{user}@127.0.0.1:{port}");
    let work = ctx.work.display().to_string();
    let copy = |args: &[&str]| -> Run {
        let mut cmd = ctx.command();
        cmd.env("BUILDOUT_SSH", &ssh)
            .args(["copy", "--to", &to])
            .args(args)
            .args(["--remote-buildout", env!("CARGO_BIN_EXE_buildout")]);
        run(&mut cmd)
    };

    for (release, word) in [("release 1", "one"), ("release 2", "two")] {
        write_config(&ctx, &server, release, &command(word));
        ctx.ok(&[]);
        let r = copy(&["--activate", &work]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("Copied "), "{}", r.stdout);
        // The action's output came back over ssh.
        assert!(
            r.stderr.contains(&format!("hook-said-{word}")),
            "{}",
            r.stderr
        );
    }
    assert_eq!(host_log(&prod), "one\ntwo\n");
    assert_eq!(prod.sh("bin/web").stdout, "release 2\nweb served\n");
    let log = fs::read_to_string(&asked).unwrap();
    assert!(log.contains("store serve --stdio"), "{log}");
    host_verify_clean(&prod);

    // Rollback on the host, over ssh too.
    let r = run(Command::new(&ssh)
        .args(["-p", &port.to_string(), "--"])
        .arg(format!("{user}@127.0.0.1"))
        .arg(format!("'{}' rollback", env!("CARGO_BIN_EXE_buildout"))));
    assert_rolled_back(&r);
    assert_eq!(prod.sh("bin/web").stdout, "release 1\nweb served\n");
}
