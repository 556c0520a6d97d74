"""Fixtures of the service tests. Email: `support` (a support mailbox on the test Dovecot) and
`workspace_smtp` (the workspace's SMTP server on the test sink), from mail_support."""

from rapport.service.tests.mail_support import support, workspace_smtp  # noqa: F401 (fixtures)
