import { lt } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import {
  oauthCodes,
  oauthRefreshTokens,
  oauthRevokedAccessTokens,
  sessions,
  signingKeys,
} from '../db/schema/index.ts';

/** Spent and expired codes are kept this long after expiry so a late replay is still recognised and punished. */
const CODE_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface Purged {
  sessions: number;
  codes: number;
  refreshTokens: number;
  revokedAccessTokens: number;
  signingKeys: number;
}

/**
 * Deletes credentials that can no longer be used: expired sessions, refresh tokens, revocation records of
 * expired access tokens, signing keys past their verification window, and codes a day after expiry.
 * Safe to run at any time and from any process (a periodic job calls it).
 */
export async function purgeExpiredCredentials(db: Executor, now = new Date()): Promise<Purged> {
  const count = (rows: unknown[]) => rows.length;
  return {
    sessions: count(
      await db.delete(sessions).where(lt(sessions.expiresAt, now)).returning({ k: sessions.tokenHash }),
    ),
    codes: count(
      await db
        .delete(oauthCodes)
        .where(lt(oauthCodes.expiresAt, new Date(now.getTime() - CODE_RETENTION_MS)))
        .returning({ k: oauthCodes.codeHash }),
    ),
    refreshTokens: count(
      await db
        .delete(oauthRefreshTokens)
        .where(lt(oauthRefreshTokens.expiresAt, now))
        .returning({ k: oauthRefreshTokens.tokenHash }),
    ),
    revokedAccessTokens: count(
      await db
        .delete(oauthRevokedAccessTokens)
        .where(lt(oauthRevokedAccessTokens.expiresAt, now))
        .returning({ k: oauthRevokedAccessTokens.jti }),
    ),
    signingKeys: count(
      await db.delete(signingKeys).where(lt(signingKeys.expiresAt, now)).returning({ k: signingKeys.kid }),
    ),
  };
}
