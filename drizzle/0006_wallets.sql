CREATE TABLE "wallet_addresses" (
	"wallet_id" bigint NOT NULL,
	"chain" integer NOT NULL,
	"index" integer NOT NULL,
	"address" text NOT NULL,
	CONSTRAINT "wallet_addresses_wallet_id_chain_index_pk" PRIMARY KEY("wallet_id","chain","index")
);
--> statement-breakpoint
CREATE TABLE "wallets" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "wallets_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"guild_id" text NOT NULL,
	"descriptor" text NOT NULL,
	"label" text NOT NULL,
	"gap" integer NOT NULL,
	"added_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "wallet_addresses" ADD CONSTRAINT "wallet_addresses_wallet_id_wallets_id_fk" FOREIGN KEY ("wallet_id") REFERENCES "public"."wallets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wallet_addresses" ADD CONSTRAINT "wallet_addresses_address_addresses_address_fk" FOREIGN KEY ("address") REFERENCES "public"."addresses"("address") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "wallet_addresses_wallet_address_idx" ON "wallet_addresses" USING btree ("wallet_id","address");--> statement-breakpoint
CREATE INDEX "wallet_addresses_address_idx" ON "wallet_addresses" USING btree ("address");--> statement-breakpoint
CREATE UNIQUE INDEX "wallets_guild_descriptor_idx" ON "wallets" USING btree ("guild_id","descriptor");--> statement-breakpoint
CREATE UNIQUE INDEX "wallets_guild_label_idx" ON "wallets" USING btree ("guild_id",lower("label"));