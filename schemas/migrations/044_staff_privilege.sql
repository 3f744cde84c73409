-- The console makes and resets 客服 only, and gives no one a role beyond
-- 客服 they do not hold (it may take roles away). A member with 审核,
-- 运维 or 审计 is made, given those roles and reset by the owner (`authsvc
-- staff add`), never by the service: else one 运维 could make two members
-- whose credentials they were shown, a 客服 and a 审核, and be both eyes
-- of a four-eyes change; and a compromised service could mint a 运维. The
-- console's own check answers first (staff_privileged); this trigger
-- holds whatever the service sends.
CREATE FUNCTION staff_privilege_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN NEW; -- the owner: the CLI
    END IF;
    IF TG_OP = 'INSERT' AND NEW.roles <> ARRAY['kefu']
        OR TG_OP = 'UPDATE' AND NOT NEW.roles <@ (OLD.roles || ARRAY['kefu'])
        OR TG_OP = 'UPDATE' AND (NEW.password_hash IS DISTINCT FROM OLD.password_hash OR NEW.totp_sealed IS DISTINCT FROM OLD.totp_sealed
                OR NEW.status = 'active' AND OLD.status <> 'active')
            AND NOT (OLD.roles <@ ARRAY['kefu'] AND NEW.roles <@ ARRAY['kefu']) THEN
        RAISE EXCEPTION 'staff %: only the owner makes, resets, enables or gives 审核, 运维 or 审计 to a member', NEW.username
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
REVOKE EXECUTE ON FUNCTION staff_privilege_guard() FROM PUBLIC;
CREATE TRIGGER staff_privilege_guard BEFORE INSERT OR UPDATE OF roles, password_hash, totp_sealed, status ON staff
    FOR EACH ROW EXECUTE FUNCTION staff_privilege_guard();
