"""Which webhook URLs are accepted: in production https to public addresses only; in development also http and
loopback (a receiver on the developer's machine)."""

import ipaddress

import pytest

from src.notifications import UnsafeWebhookUrlError, urls, validate_webhook_url
from src.notifications.urls import DeliveryTarget, delivery_target


class TestProduction:
    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("http://93.184.216.34/hook", "must start with https://"),
            ("https://10.0.0.7/hook", "private or local address (10.0.0.7)"),
            ("https://192.168.1.20/hook", "private or local address"),
            ("https://172.16.0.1/hook", "private or local address"),
            ("https://127.0.0.1:8443/hook", "private or local address (127.0.0.1)"),
            ("https://localhost/hook", "The host localhost resolves to a private or local address"),
            ("https://[::1]/hook", "private or local address (::1)"),
            ("https://169.254.169.254/latest/meta-data", "private or local address"),
            ("https://[::ffff:10.0.0.1]/hook", "private or local address"),
            ("https://100.64.0.1/hook", "private or local address"),
            ("https://0.0.0.0/hook", "private or local address"),
            ("https://224.0.0.1/hook", "private or local address"),
            ("https://[fd00::1]/hook", "private or local address"),
            ("https://user:pass@93.184.216.34/hook", "user name or password"),
            ("ftp://93.184.216.34/hook", "must start with https://"),
            ("https:///hook", "names no host"),
            ("https://no-such-host.invalid/hook", "does not resolve"),
        ],
    )
    def test_refused_with_a_reason(self, url: str, reason: str) -> None:
        with pytest.raises(UnsafeWebhookUrlError) as refused:
            validate_webhook_url(url, production=True)
        assert reason in str(refused.value)

    def test_https_to_a_public_address_is_accepted(self) -> None:
        assert validate_webhook_url(" https://93.184.216.34/hook?x=1 ", production=True) == (
            "https://93.184.216.34/hook?x=1"
        )
        assert validate_webhook_url("https://[2606:2800:220:1::1]:8443/hook", production=True)


class TestDevelopment:
    @pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://localhost/hook", "https://10.0.0.7/x"])
    def test_loopback_private_and_http_are_allowed(self, url: str) -> None:
        assert validate_webhook_url(url, production=False) == url

    @pytest.mark.parametrize(
        "url",
        [
            "ftp://127.0.0.1/hook",
            "127.0.0.1:9000/hook",
            "http://user:pw@127.0.0.1/",
            "http://[::1/",
            "http://127.0.0.1/a b",
            "http://127.0.0.1/\x1b[31m",
            "http://127.0.0.1:99999/",
        ],
    )
    def test_other_schemes_credentials_and_nonsense_are_refused(self, url: str) -> None:
        with pytest.raises(UnsafeWebhookUrlError):
            validate_webhook_url(url, production=False)


class TestDeliveryTarget:
    """A delivery connects to the address it checked, so the name cannot be re-pointed in between. The resolver is
    pointed at fixed answers here: no local DNS server can give a public address to a test name."""

    def test_in_production_a_name_is_pinned_to_its_checked_address_and_kept_for_host_and_tls(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(urls, "_resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")])
        target = delivery_target("https://hooks.example.test:8443/in?x=1", production=True)
        assert target.url == "https://93.184.216.34:8443/in?x=1"
        assert target.headers == {"Host": "hooks.example.test:8443"}
        assert target.extensions == {"sni_hostname": "hooks.example.test"}
        monkeypatch.setattr(urls, "_resolve", lambda host, port: [ipaddress.ip_address("2606:2800:220:1::1")])
        assert delivery_target("https://hooks.example.test/in", production=True).url == (
            "https://[2606:2800:220:1::1]/in"
        )

    def test_a_name_re_pointed_inside_after_registration_is_refused_at_delivery(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(urls, "_resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")])
        url = validate_webhook_url("https://hooks.example.test/in", production=True)
        monkeypatch.setattr(
            urls,
            "_resolve",
            lambda host, port: [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.5")],
        )
        with pytest.raises(UnsafeWebhookUrlError, match=r"private or local address \(10\.0\.0\.5\)"):
            delivery_target(url, production=True)

    def test_an_address_literal_and_development_are_requested_as_written(self) -> None:
        assert delivery_target("https://93.184.216.34/in", production=True) == DeliveryTarget(
            "https://93.184.216.34/in"
        )
        assert delivery_target("http://localhost:9/in", production=False) == DeliveryTarget("http://localhost:9/in")
