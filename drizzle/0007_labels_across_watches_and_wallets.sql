-- A label names one thing in a server: a single-address watch or a wallet, in any case. Each
-- table's unique index sees only its own rows, so this trigger looks in the other table, under a
-- lock per server that every label write takes in turn (held to its commit): two tracks typed at
-- the same instant cannot both take one label. The error is a unique violation, as the indexes'.
CREATE FUNCTION satbell_label_free() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.label IS NULL THEN
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('satbell label ' || NEW.guild_id));
  IF TG_TABLE_NAME = 'watches' THEN
    IF EXISTS (SELECT 1 FROM wallets w WHERE w.guild_id = NEW.guild_id AND lower(w.label) = lower(NEW.label)) THEN
      RAISE EXCEPTION 'the label is taken by a wallet of this server' USING ERRCODE = 'unique_violation';
    END IF;
  ELSIF EXISTS (SELECT 1 FROM watches w WHERE w.guild_id = NEW.guild_id AND lower(w.label) = lower(NEW.label)) THEN
    RAISE EXCEPTION 'the label is taken by an address of this server' USING ERRCODE = 'unique_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER watches_label_free BEFORE INSERT OR UPDATE OF label ON watches FOR EACH ROW EXECUTE FUNCTION satbell_label_free();
--> statement-breakpoint
CREATE TRIGGER wallets_label_free BEFORE INSERT OR UPDATE OF label ON wallets FOR EACH ROW EXECUTE FUNCTION satbell_label_free();
