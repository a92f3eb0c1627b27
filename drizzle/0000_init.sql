CREATE TABLE "address_transactions" (
	"address" text NOT NULL,
	"txid" text NOT NULL,
	"net" bigint NOT NULL,
	CONSTRAINT "address_transactions_address_txid_pk" PRIMARY KEY("address","txid")
);
--> statement-breakpoint
CREATE TABLE "addresses" (
	"address" text PRIMARY KEY NOT NULL,
	"balance" bigint NOT NULL,
	"tx_count" integer NOT NULL,
	"total_received" bigint NOT NULL,
	"balance_updated_at" timestamp with time zone NOT NULL,
	"txs_updated_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "transactions" (
	"txid" text PRIMARY KEY NOT NULL,
	"block_height" integer,
	"time" timestamp with time zone NOT NULL,
	"fee" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watches" (
	"guild_id" text NOT NULL,
	"address" text NOT NULL,
	"label" text,
	"added_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "watches_guild_id_address_pk" PRIMARY KEY("guild_id","address")
);
--> statement-breakpoint
ALTER TABLE "address_transactions" ADD CONSTRAINT "address_transactions_address_addresses_address_fk" FOREIGN KEY ("address") REFERENCES "public"."addresses"("address") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "address_transactions" ADD CONSTRAINT "address_transactions_txid_transactions_txid_fk" FOREIGN KEY ("txid") REFERENCES "public"."transactions"("txid") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "watches" ADD CONSTRAINT "watches_address_addresses_address_fk" FOREIGN KEY ("address") REFERENCES "public"."addresses"("address") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "address_transactions_txid_idx" ON "address_transactions" USING btree ("txid");--> statement-breakpoint
CREATE UNIQUE INDEX "watches_guild_label_idx" ON "watches" USING btree ("guild_id",lower("label")) WHERE "watches"."label" is not null;--> statement-breakpoint
CREATE INDEX "watches_address_idx" ON "watches" USING btree ("address");