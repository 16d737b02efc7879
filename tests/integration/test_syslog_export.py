"""The syslog exporter against a real rsyslog (issue 5, Export).

Each test builds its own PKI (openssl) and starts its own rsyslogd (loopback only, its own
configuration and pid file) and the syslog_export_driver, and stops both by PID. The collector
outage is the issue's 60 s (WARDGATE_SYSLOG_OUTAGE_S shortens it for a quick local run);
nothing in the exporter depends on it (its backoff is capped at 2 s in the driver).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

import syslog_lab as L

NOTE = 'quote " backslash \\ bracket ] caf\u00e9 \u5f20'
NOTE_SD = 'note="quote \\" backslash \\\\ bracket \\] caf\u00e9 \u5f20"'


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class SyslogExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp, self.pki, self.collector, self.tls = L.make_lab()
        self.drivers = []

    def tearDown(self):
        for d in self.drivers:
            d.stop(signal.SIGKILL)
        self.collector.stop()
        if os.environ.get("WARDGATE_KEEP_LAB"):
            print(f"lab kept for inspection: {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def driver(self, name="collector"):
        d = L.Driver(self.tmp, name)
        self.drivers.append(d)
        return d

    def received(self, name="tls", settle=1.0):
        time.sleep(settle)  # omfile writes each batch at its end
        return L.parse_lines(self.collector.output(name))

    def assert_complete(self, lines, count, max_duplicates=0):
        missing, out_of_order, duplicates = L.sequence_report([l[0] for l in lines], count)
        self.assertEqual(missing[:10], [], f"{len(missing)} records missing")
        self.assertEqual(out_of_order, 0, "a record arrived before an earlier one")
        self.assertLessEqual(duplicates, max_duplicates)
        return duplicates

    # -- volume ---------------------------------------------------------------------------
    def test_100k_events_arrive_in_order_with_fields_intact(self):
        self.collector.start()
        count = 100_000
        d = self.driver().start("tls", self.collector.tls_port, count, tls=self.tls)
        self.assertTrue(d.wait_done(count, 120), d.status())
        lines = self.received()
        self.assertEqual(len(lines), count)
        self.assert_complete(lines, count)
        for seq, sequence_id, record, line in lines:
            self.assertEqual(sequence_id, seq)
            self.assertIsNotNone(record, line)
            self.assertEqual(record["fields"]["n"], seq)
            self.assertEqual(record["fields"]["note"], NOTE)
            self.assertEqual(record["device"], f"ct-{seq % 7}")
            self.assertEqual(record["fields"]["sop_instance_uid"], f"2.25.2.{seq}")
            self.assertIn(NOTE_SD, line)
            self.assertIn(f'device="ct-{seq % 7}"', line)
            self.assertIn('[timeQuality tzKnown="1"', line)
            self.assertIn('[origin ip="127.0.0.1" software="wardgate"', line)
            expected_pri = "<105>1 " if seq % 10 == 0 else "<110>1 "  # audit(13): alert/info
            self.assertTrue(line.startswith(expected_pri), line[:20])
        status = d.status()
        self.assertEqual(status["duplicates_sent"], 0)
        self.assertEqual(status["handshake_successes"], 1)
        self.assertGreater(status["client_cert_days_left"], 360)

    # -- outages --------------------------------------------------------------------------
    def test_collector_stopped_60s_under_load_then_restarted_no_gap(self):
        outage = float(os.environ.get("WARDGATE_SYSLOG_OUTAGE_S", "60"))  # the issue's length
        self.collector.start()
        rate = 5000
        count = int(rate * (outage + 10))
        d = self.driver().start("tls", self.collector.tls_port, count, rate=rate, tls=self.tls)
        self.assertTrue(L.wait_for(lambda: d.status().get("cursor", 0) > 20_000, 30))
        self.collector.stop()
        time.sleep(outage)
        down = d.status()
        self.assertFalse(down["connected"])
        self.assertGreater(down["backlog"], rate * outage * 0.5, down)
        self.assertGreater(down["failures"].get("connect-refused", 0), 0, down)
        self.collector.start()
        self.assertTrue(d.wait_done(count, 120), d.status())
        lines = self.received()
        status = d.status()
        dups = self.assert_complete(lines, count, max_duplicates=status["duplicates_sent"])
        self.assertLessEqual(status["duplicates_sent"], 65536)
        print(f"\noutage {outage:.0f} s: duplicates received {dups}, counted "
              f"{status['duplicates_sent']}, connection failures {status['failures']}")

    def test_hung_collector_found_by_write_timeout_then_resumed_no_gap(self):
        # SIGSTOP: the collector's kernel keeps the connection up and acknowledges until its
        # receive buffer is full, then the window closes: only the write deadline notices.
        self.collector.start()
        count, rate = 100_000, 10_000
        d = self.driver().start("tls", self.collector.tls_port, count, rate=rate, tls=self.tls,
                                extra=["--write-timeout-ms", "2000",
                                       "--connect-timeout-ms", "2000"])
        self.assertTrue(L.wait_for(lambda: d.status().get("cursor", 0) > 10_000, 30))
        self.collector.proc.send_signal(signal.SIGSTOP)
        try:
            self.assertTrue(L.wait_for(
                lambda: d.status().get("failures", {}).get("write-timeout", 0) >= 1, 30),
                d.status())
            hung = d.status()
            self.assertFalse(hung["connected"])
            self.assertGreater(hung["backlog"], 0)
        finally:
            self.collector.proc.send_signal(signal.SIGCONT)
        self.assertTrue(d.wait_done(count, 90), d.status())
        status = d.status()
        self.assert_complete(self.received(), count, max_duplicates=status["duplicates_sent"])

    def test_driver_killed_while_exporting_resumes_without_gap(self):
        self.collector.start()
        count = 300_000
        d = self.driver().start("tls", self.collector.tls_port, count, tls=self.tls)
        self.assertTrue(L.wait_for(lambda: d.status().get("cursor", 0) > 30_000, 60))
        d.stop(signal.SIGKILL)
        before = d.status()
        self.assertLess(before["cursor"], count, "finished before the kill: raise count")
        d2 = self.driver("collector")
        d2.start("tls", self.collector.tls_port, count, tls=self.tls)
        self.assertTrue(d2.wait_done(count, 120), d2.status())
        lines = self.received()
        status = d2.status()
        dups = self.assert_complete(lines, count, max_duplicates=status["duplicates_sent"])
        # Only the unconfirmed window of the killed run may come twice.
        self.assertLessEqual(status["duplicates_sent"], 65536)
        print(f"\nkill -9: duplicates received {dups}, counted {status['duplicates_sent']}")

    # -- chaos ----------------------------------------------------------------------------
    def chaos(self, tls, expected_reason, fix, count=5000, detail=None):
        """Starts the driver with a broken setup, checks the failure is named (and its detail
        holds `detail`), counted, alerted and the backlog kept; applies `fix` (no driver
        restart); checks everything arrives."""
        d = self.driver().start("tls", self.collector.tls_port, count, tls=tls)
        self.assertTrue(L.wait_for(
            lambda: d.status().get("failures", {}).get(expected_reason, 0) >= 2, 30), d.status())
        status = d.status()
        self.assertFalse(status["connected"])
        self.assertEqual(status["cursor"], 0)
        self.assertEqual(status["backlog"], count)
        self.assertGreaterEqual(status["handshake_failures"], 2)
        self.assertTrue(status["last_error"].startswith(expected_reason), status["last_error"])
        if detail:
            self.assertIn(detail, status["last_error"])
        alerts = [e for e in d.events() if e["action"] == "export-handshake-failed"]
        self.assertTrue(alerts, "no security alert")
        self.assertEqual(alerts[0]["fields"]["reason"], expected_reason)
        self.assertEqual(alerts[0]["severity"], "alert")
        self.assertEqual(self.received(settle=0.2), [])
        fix()
        self.assertTrue(d.wait_done(count, 60), d.status())
        self.assert_complete(self.received(), count)
        self.assertGreaterEqual(d.status()["handshake_successes"], 1)

    def test_expired_client_certificate_then_renewed_files(self):
        self.collector.start()
        cert, key = self.pki.issue("expired", L.CLIENT_NAME, "client_ext",
                                   start="20200101000000Z", end="20200201000000Z")
        live_cert, live_key = self.tmp / "live-client.pem", self.tmp / "live-client.key"
        shutil.copy(cert, live_cert)
        shutil.copy(key, live_key)
        tls = dict(self.tls, cert=live_cert, key=live_key)

        def renew():
            fresh_cert, fresh_key = self.pki.issue("renewed", L.CLIENT_NAME, "client_ext")
            shutil.copy(fresh_key, live_key)
            shutil.copy(fresh_cert, live_cert)

        self.chaos(tls, "client-certificate-expired", renew)

    def test_collector_rejects_certificate_of_unknown_ca(self):
        self.collector.start()
        other = L.Pki(self.tmp / "other-pki")
        cert, key = other.issue("foreign", L.CLIENT_NAME, "client_ext")
        live_cert, live_key = self.tmp / "live-client.pem", self.tmp / "live-client.key"
        shutil.copy(cert, live_cert)
        shutil.copy(key, live_key)
        tls = dict(self.tls, cert=live_cert, key=live_key)

        def fix():
            shutil.copy(self.tls["key"], live_key)
            shutil.copy(self.tls["cert"], live_cert)

        # TLS 1.3: the collector's verdict arrives after our side of the handshake completed.
        self.chaos(tls, "collector-rejected-certificate", fix)

    def test_revoked_collector_certificate_via_crl_then_reissued(self):
        self.pki.revoke(self.collector.cert)
        crl = self.pki.crl(self.tmp / "crl.pem")
        self.collector.start()
        tls = dict(self.tls, crl=crl)

        def reissue():
            self.collector.stop()
            self.collector.cert, self.collector.key = self.pki.issue(
                "server2", L.COLLECTOR_NAME, "server_ext")
            self.collector.start()

        self.chaos(tls, "certificate-revoked", reissue)

    def test_client_certificate_revoked_by_the_collectors_crl_then_reissued(self):
        # rsyslog 8.2302 has no CRL option (neither ossl nor gtls), so this case uses OpenSSL's
        # own TLS server as the collector: it checks our certificate against its CRL.
        live_cert, live_key = self.tmp / "live-client.pem", self.tmp / "live-client.key"
        shutil.copy(self.tls["cert"], live_cert)
        shutil.copy(self.tls["key"], live_key)
        self.pki.revoke(self.tls["cert"])
        crl = self.pki.crl(self.tmp / "collector-crl.pem")
        port = L.free_port()
        out_path = self.tmp / "s_server.out"
        with open(out_path, "wb") as out:
            server = subprocess.Popen(
                ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert",
                 str(self.collector.cert), "-key", str(self.collector.key), "-CAfile",
                 str(self.pki.ca), "-Verify", "2", "-verify_return_error", "-CRL", str(crl),
                 "-crl_check", "-quiet"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)  # open: EOF ends its session
        try:
            self.assertTrue(L.wait_for(lambda: port_open(port), 10))
            count = 2000
            d = self.driver().start("tls", port, count,
                                    tls=dict(self.tls, cert=live_cert, key=live_key))
            self.assertTrue(L.wait_for(
                lambda: d.status().get("failures", {}).get("certificate-revoked", 0) >= 2, 30),
                d.status())
            status = d.status()
            self.assertEqual(status["cursor"], 0)
            self.assertEqual(status["backlog"], count)
            self.assertIn("revoked", status["last_error"])
            alerts = [e for e in d.events() if e["action"] == "export-handshake-failed"]
            self.assertEqual(alerts[0]["fields"]["reason"], "certificate-revoked")
            fresh_cert, fresh_key = self.pki.issue("reissued", L.CLIENT_NAME, "client_ext")
            shutil.copy(fresh_key, live_key)
            shutil.copy(fresh_cert, live_cert)
            self.assertTrue(d.wait_done(count, 60), d.status())
            received = out_path.read_text(errors="replace")
            seqs = [int(m) for m in re.findall(r'\[wardgate@32473 seq="(\d+)"', received)]
            missing, out_of_order, _ = L.sequence_report(seqs, count)
            self.assertEqual(missing[:10], [])
            self.assertEqual(out_of_order, 0)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
            server.stdin.close()

    # -- the collector's chain: intermediate CAs, CRLs, OCSP staples, versions, resumption -----
    def chain_lab(self):
        """The collector's certificate issued by an intermediate CA under the test root, served
        with the intermediate by rsyslog; wardgate trusts only the root. Returns the
        intermediate Pki."""
        inter = L.Pki(self.tmp / "inter-pki", parent=self.pki, cn="wardgate test intermediate")
        leaf, key = inter.issue("server-i", L.COLLECTOR_NAME, "server_ext")
        chain = self.tmp / "server-chain.pem"
        chain.write_text(leaf.read_text() + inter.ca.read_text())
        self.collector.cert, self.collector.key = chain, key
        self.collector.start()
        return inter

    def reissue_from_root(self):
        self.collector.stop()
        self.collector.cert, self.collector.key = self.pki.issue(
            "server-root", L.COLLECTOR_NAME, "server_ext")
        self.collector.start()

    def write_crls(self, path, *crls):
        path.write_text("".join(c.read_text() for c in crls))
        return path

    def test_revoked_intermediate_ca_refused_then_reissued_from_root(self):
        # The root's CRL revokes the intermediate, the intermediate's CRL is empty: a check of
        # the leaf alone finds nothing.
        inter = self.chain_lab()
        self.pki.revoke(inter.ca)
        crl = self.write_crls(self.tmp / "crl.pem", self.pki.crl(self.tmp / "root-crl.pem"),
                              inter.crl(self.tmp / "inter-crl.pem"))
        self.chaos(dict(self.tls, crl=crl), "certificate-revoked", self.reissue_from_root,
                   detail="depth 1")

    def test_expired_crl_of_the_chain_refused_then_renewed(self):
        inter = self.chain_lab()
        crl = self.write_crls(
            self.tmp / "crl.pem",
            self.pki.crl(self.tmp / "root-crl.pem", "20200101000000Z", "20200201000000Z"),
            inter.crl(self.tmp / "inter-crl.pem"))

        def renew():  # a current CRL in place of the stale one: taken at the next connection
            self.write_crls(crl, self.pki.crl(self.tmp / "root-crl2.pem"),
                            self.tmp / "inter-crl.pem")

        self.chaos(dict(self.tls, crl=crl), "crl-expired", renew, detail="depth 1")

    def test_crl_file_lacking_a_ca_of_the_chain_refused_then_completed(self):
        inter = self.chain_lab()
        crl = self.write_crls(self.tmp / "crl.pem", inter.crl(self.tmp / "inter-crl.pem"))

        def complete():
            self.write_crls(crl, self.tmp / "inter-crl.pem",
                            self.pki.crl(self.tmp / "root-crl.pem"))

        self.chaos(dict(self.tls, crl=crl), "crl-missing", complete, detail="depth 1")

    def refused_by(self, d, reason, count):
        self.assertTrue(L.wait_for(
            lambda: d.status().get("failures", {}).get(reason, 0) >= 2, 30), d.status())
        status = d.status()
        self.assertEqual(status["cursor"], 0)
        self.assertEqual(status["backlog"], count)
        self.assertEqual(status["handshake_successes"], 0)
        self.assertTrue(status["last_error"].startswith(reason), status["last_error"])
        alerts = [e for e in d.events() if e["action"] == "export-handshake-failed"]
        self.assertEqual(alerts[0]["fields"]["reason"], reason)
        return status

    def assert_all_arrived(self, d, server, count):
        self.assertTrue(d.wait_done(count, 60), d.status())
        missing, out_of_order, _ = L.sequence_report(server.seqs(), count)
        self.assertEqual(missing[:10], [])
        self.assertEqual(out_of_order, 0)

    def test_tls10_only_collector_refused(self):
        # RSA key transport (AES128-SHA) needs no signature algorithm that OpenSSL 3's default
        # security level forbids: only the minimum version keeps such a collector out.
        cert, key = self.pki.issue("server-rsa", L.COLLECTOR_NAME, "server_ext", rsa=True)
        server = L.OpensslCollector(self.tmp)
        server.start(cert, key, "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-quiet")
        count = 500
        try:
            d = self.driver().start("tls", server.port, count, tls=self.tls)
            status = self.refused_by(d, "protocol-version", count)
            self.assertEqual(server.seqs(), [])
            print(f"\nTLS 1.0 collector: {status['last_error']}")
            # The same collector, certificate and cipher with TLS 1.2 allowed: accepted, so the
            # version was the reason.
            server.stop()
            server.start(cert, key, "-cipher", "AES128-SHA:@SECLEVEL=0", "-quiet")
            self.assert_all_arrived(d, server, count)
        finally:
            server.stop()

    def test_stapled_revoked_ocsp_response_refused_then_good_staple_accepted(self):
        cert, key = self.pki.issue("server-ocsp", L.COLLECTOR_NAME, "server_ext")
        self.pki.revoke(cert)  # in the CA's database only: no CRL is configured
        revoked = self.pki.ocsp_response(cert, self.tmp / "revoked.der")
        server = L.OpensslCollector(self.tmp)
        server.start(cert, key, "-status_file", revoked, "-quiet")
        count = 500
        try:
            d = self.driver().start("tls", server.port, count, tls=self.tls)
            status = self.refused_by(d, "certificate-revoked", count)
            self.assertIn("OCSP", status["last_error"])
            self.assertEqual(server.seqs(), [])
            server.stop()
            cert2, key2 = self.pki.issue("server-ocsp2", L.COLLECTOR_NAME, "server_ext")
            good = self.pki.ocsp_response(cert2, self.tmp / "good.der")
            server.start(cert2, key2, "-status_file", good, "-quiet")
            self.assert_all_arrived(d, server, count)
        finally:
            server.stop()

    def test_stapled_ocsp_response_from_an_untrusted_signer_refused(self):
        # A "good" staple signed by a CA wardgate does not trust must not count as an answer.
        cert, key = self.pki.issue("server-forged", L.COLLECTOR_NAME, "server_ext")
        other = L.Pki(self.tmp / "other-pki", cn="someone else")
        forged = self.pki.ocsp_response(cert, self.tmp / "forged.der", signer=other)
        server = L.OpensslCollector(self.tmp)
        server.start(cert, key, "-status_file", forged, "-quiet")
        count = 200
        try:
            d = self.driver().start("tls", server.port, count, tls=self.tls)
            status = self.refused_by(d, "ocsp-response-invalid", count)
            self.assertIn("signer not trusted", status["last_error"])
            self.assertEqual(server.seqs(), [])
        finally:
            server.stop()

    def test_reconnect_after_collector_certificate_expired_is_refused_despite_resumption(self):
        # The collector offers resumption (session IDs and TLS 1.3 tickets, s_server's
        # default). Its certificate expires while the link is up; wardgate then reconnects
        # cleanly (new TLS files: here the same CA bundle written again), a moment where a
        # client that resumes would skip the certificate checks. The handshake must refuse it.
        lifetime = 25
        now = time.time()
        cert, key = self.pki.issue("server-short", L.COLLECTOR_NAME, "server_ext",
                                   start=time.strftime("%Y%m%d%H%M%SZ", time.gmtime(now)),
                                   end=time.strftime("%Y%m%d%H%M%SZ",
                                                     time.gmtime(now + lifetime)))
        live_ca = self.tmp / "live-ca.pem"
        shutil.copy(self.pki.ca, live_ca)
        server = L.OpensslCollector(self.tmp)
        server.start(cert, key, "-quiet")
        count = 100_000
        try:
            d = self.driver().start("tls", server.port, count, rate=100,
                                    tls=dict(self.tls, ca=live_ca))
            self.assertTrue(L.wait_for(lambda: d.status().get("cursor", 0) > 50, 20),
                            d.status())
            self.assertEqual(d.status()["handshake_successes"], 1)
            time.sleep(max(0.0, now + lifetime + 2 - time.time()))
            live_ca.unlink()
            shutil.copy(self.pki.ca, live_ca)
            self.assertTrue(L.wait_for(
                lambda: d.status().get("failures", {}).get("server-certificate-expired", 0) >= 1,
                30), d.status())
            status = d.status()
            self.assertGreaterEqual(status["tls_reloads"], 1, status)
            self.assertEqual(status["handshake_successes"], 1, status)
            self.assertFalse(status["connected"])
        finally:
            server.stop()

    def test_peer_name_openssl_cannot_check_fails_closed(self):
        # An IPv6 address with a scope parses as an address but OpenSSL cannot take it as the
        # IP to check: going on would accept any certificate of the CA.
        self.collector.start()
        count = 100
        d = self.driver().start("tls", self.collector.tls_port, count,
                                tls=dict(self.tls, server_name="::1%lo"))
        self.refused_by(d, "tls-setup", count)
        self.assertEqual(self.received(settle=0.2), [])

    def test_server_name_mismatch_then_reissued_collector_certificate(self):
        self.collector.cert, self.collector.key = self.pki.issue(
            "wrong-name", "other.test", "server_ext", san="other.test")
        self.collector.start()

        def reissue():
            self.collector.stop()
            self.collector.cert, self.collector.key = self.pki.issue(
                "server2", L.COLLECTOR_NAME, "server_ext")
            self.collector.start()

        self.chaos(self.tls, "name-mismatch", reissue)

    def test_pinned_fingerprint(self):
        self.collector.start()
        wrong = dict(self.tls, pin="00" * 32)
        d = self.driver("pinned-wrong").start("tls", self.collector.tls_port, 100, tls=wrong)
        self.assertTrue(L.wait_for(
            lambda: d.status().get("failures", {}).get("pin-mismatch", 0) >= 1, 20), d.status())
        d.stop()
        right = dict(self.tls, pin=self.pki.sha256(self.collector.cert))
        d2 = self.driver("pinned-right").start("tls", self.collector.tls_port, 100, tls=right)
        self.assertTrue(d2.wait_done(100, 20), d2.status())

    def test_client_certificate_replaced_while_connected_no_loss(self):
        self.collector.start()
        live_cert, live_key = self.tmp / "live-client.pem", self.tmp / "live-client.key"
        shutil.copy(self.tls["cert"], live_cert)
        shutil.copy(self.tls["key"], live_key)
        tls = dict(self.tls, cert=live_cert, key=live_key)
        count = 60_000
        d = self.driver().start("tls", self.collector.tls_port, count, rate=10_000, tls=tls)
        self.assertTrue(L.wait_for(lambda: d.status().get("cursor", 0) > 10_000, 30))
        fresh_cert, fresh_key = self.pki.issue("renewed", L.CLIENT_NAME, "client_ext", days=20)
        shutil.copy(fresh_key, live_key)
        shutil.copy(fresh_cert, live_cert)
        self.assertTrue(d.wait_done(count, 60), d.status())
        status = d.status()
        self.assertGreaterEqual(status["tls_reloads"], 1, status)
        self.assertGreaterEqual(status["handshake_successes"], 2, status)
        self.assertLess(status["client_cert_days_left"], 21, status)
        self.assert_complete(self.received(), count, max_duplicates=status["duplicates_sent"])
        warnings = [e for e in d.events() if e["action"] == "export-certificate-expiring"]
        self.assertTrue(warnings, "no expiry warning for a 20-day certificate")
        self.assertEqual(warnings[0]["fields"]["threshold_days"], 30)

    # -- other transports -----------------------------------------------------------------
    def test_plain_tcp_and_udp_to_the_same_collector(self):
        self.collector.start()
        count = 20_000
        tcp = self.driver("tcp").start("tcp", self.collector.tcp_port, count)
        # UDP cannot be confirmed or resent: a modest rate keeps loopback lossless.
        udp = self.driver("udp").start("udp", self.collector.udp_port, count, rate=10_000)
        self.assertTrue(tcp.wait_done(count, 60), tcp.status())
        self.assertTrue(udp.wait_done(count, 60), udp.status())
        self.assert_complete(self.received("tcp"), count)
        self.assert_complete(self.received("udp"), count)


if __name__ == "__main__":
    unittest.main()
