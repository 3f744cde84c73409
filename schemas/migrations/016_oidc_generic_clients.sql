-- Business systems with a generic OpenID Connect client (issue 13):
-- pkce_optional lets an operator register a confidential client that
-- cannot send PKCE (registered explicitly, audited, listed); email_claim
-- names the claim that stands in for "email" for clients that require
-- one ('' none, 'sub'; a username once accounts have one).
ALTER TABLE oidc_client
    ADD COLUMN pkce_optional bool NOT NULL DEFAULT false,
    ADD COLUMN email_claim   text NOT NULL DEFAULT '' CHECK (email_claim IN ('', 'sub'));
