// The hand-written declarations (js/index.d.ts) against the types derived from the Rust types
// (`generated.ts`, written by `cargo test -p syncgate --features ts --lib ts_types` from
// src/ts_types.rs). Compiled by types.test.mjs with `tsc --noEmit --strict`: every line below
// must type-check, so a member added, removed, renamed or retyped on either side fails it.
import type * as D from "syncgate";
import type * as G from "./generated";

/** `A` and `B` are assignable to each other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Every `A` is a `B`. */
type Fits<A, B> = [A] extends [B] ? true : false;
/** `A` and `B` name the same members. */
type SameKeys<A, B> = Same<keyof A, keyof B>;

// Exact twins: what the core sends is exactly what the declarations say.
export const scheme: Same<D.Scheme, G.Scheme> = true;
export const keyStatus: Same<D.KeyStatus, G.KeyStatus> = true;
export const payloadType: Same<D.PayloadType, G.PayloadType> = true;
export const section: Same<D.Section, G.Section> = true;
export const smtpEncryption: Same<D.SmtpEncryption, G.SmtpEncryption> = true;
export const smtp: Same<D.SmtpSection, G.Smtp> = true;
export const footerLink: Same<D.FooterLink, G.FooterLink> = true;
export const replayKeys: Same<D.ReplayKeys, G.ReplayKeys> = true;
export const moduleReason: Same<D.ModuleReason, G.ModuleReason> = true;
export const moduleState: Same<D.ModuleState, G.ModuleStatus> = true;
export const recomputation: Same<Omit<Extract<D.ModuleRecomputation, { ok: true }>, "ok">, G.ModuleState> = true;
export const rejectionStatus: Same<D.RejectionStatus, G.RejectionStatus> = true;
export const rejectionCode: Same<D.RejectionCode, keyof G.RejectionStatus> = true;
export const provider: Same<D.Provider, G.Provider> = true;
export const verifiedHook: Same<Omit<D.VerifiedHook, "ok">, G.HookVerdict> = true;

// The verdict's parts (the verdict itself is assembled in src/verify.rs).
export const verifiedScheme: Same<D.Verified["scheme"], G.Scheme> = true;
export const verifiedKeyStatus: Fits<D.Verified["keyStatus"], G.KeyStatus> = true;
export const verifiedPayloadType: Same<D.Verified["payloadType"], G.PayloadType> = true;
export const verifiedSections: Same<D.Verified["sections"], G.Section[]> = true;
export const verifiedReplay: Same<D.Verified["replay"], G.ReplayKeys> = true;

// Sections the declarations also use as inputs, so they mark as optional what the core always
// sends (`requires`, `overrides`, footer `links`, rate limits): what the core sends fits the
// declared type, and both name the same members.
export const features: Fits<G.Features, D.FeaturesSection> = true;
export const featuresKeys: SameKeys<G.Features, D.FeaturesSection> = true;
export const module: Fits<G.ModuleDef, D.Module> = true;
export const moduleKeys: SameKeys<G.ModuleDef, D.Module> = true;
export const branding: Fits<G.Branding, D.BrandingSection> = true;
export const brandingKeys: SameKeys<G.Branding, D.BrandingSection> = true;
export const footerKeys: SameKeys<G.Footer, NonNullable<D.BrandingSection["footer"]>> = true;
export const rateLimits: Fits<G.RateLimits, D.RateLimits> = true;
export const rateLimitsKeys: SameKeys<G.RateLimits, D.RateLimits> = true;

// The payload: one wire shape in Rust, a union discriminated by `type` in the declarations.
type Wire = G.PayloadShape<G.Smtp>;
export const featuresPayload: Fits<Wire & { type: "features"; features: G.Features }, D.FeaturesPayload> = true;
export const brandingPayload: Fits<Wire & { type: "branding"; branding: G.Branding }, D.BrandingPayload> = true;
export const smtpPayload: Fits<Wire & { type: "smtp"; smtp: G.Smtp }, D.SmtpPayload> = true;
export const combinedPayload: Fits<Wire & { type: "combined" }, D.CombinedPayload> = true;
export const payloadKeys: SameKeys<Wire, D.CombinedPayload> = true;
export const payloadTypes: Same<D.SyncPayload["type"], Wire["type"]> = true;
