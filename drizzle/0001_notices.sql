CREATE TABLE "guild_settings" (
	"guild_id" text PRIMARY KEY NOT NULL,
	"channel_id" text,
	"threshold_sats" bigint DEFAULT 0 NOT NULL,
	"last_delivery_error" text,
	"last_delivery_error_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notices" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "notices_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"guild_id" text NOT NULL,
	"channel_id" text NOT NULL,
	"address" text NOT NULL,
	"kind" text NOT NULL,
	"txid" text,
	"nonce" text NOT NULL,
	"payload" jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"delivered_version" integer DEFAULT 0 NOT NULL,
	"message_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"claimed_until" timestamp with time zone,
	"last_error" text,
	"failed_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "notices_nonce_unique" UNIQUE("nonce")
);
--> statement-breakpoint
CREATE TABLE "run_leases" (
	"key" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "notices_guild_tx_idx" ON "notices" USING btree ("guild_id","txid") WHERE "notices"."kind" = 'tx';--> statement-breakpoint
CREATE INDEX "notices_due_idx" ON "notices" USING btree ("next_attempt_at") WHERE "notices"."failed_at" is null and "notices"."delivered_version" < "notices"."version";--> statement-breakpoint
CREATE INDEX "notices_txid_idx" ON "notices" USING btree ("txid");