/**
 * Decrypts GetPasswordData's answer: base64 of the Administrator password, RSA-encrypted by EC2Launch with the
 * instance's key pair under PKCS#1 v1.5 padding.
 *
 * NOTE: Node 20 refuses `privateDecrypt` with RSA_PKCS1_PADDING (CVE-2023-46809, the Marvin timing attack on a
 * decryption oracle) unless run with --security-revert, and no maintained library gild already depends on does it:
 * so the RSA operation is node:crypto's (RSA_NO_PADDING) and the padding, `00 02 <at least 8 non-zero bytes> 00
 * <message>` (RFC 8017, 7.2.2), is removed here. No oracle exists: the ciphertext is AWS's answer about an instance
 * gild launched, and a bad padding only fails the check.
 */
import { constants, createPrivateKey, privateDecrypt } from 'node:crypto';

export type DecryptedPassword = { readonly ok: true; readonly password: string } | { readonly ok: false; readonly reason: string };

export function decryptWindowsPassword(passwordData: string, privateKeyPem: string): DecryptedPassword {
  const ciphertext = Buffer.from(passwordData.trim(), 'base64');
  let key;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (error) {
    return { ok: false, reason: `the launch key pair's private key does not load: ${(error as Error).message}` };
  }
  const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (key.asymmetricKeyType !== 'rsa' || modulusBytes === 0) return { ok: false, reason: `the launch key pair is ${key.asymmetricKeyType ?? 'of an unknown type'}, not RSA` };
  if (ciphertext.length !== modulusBytes) {
    return { ok: false, reason: `PasswordData is ${ciphertext.length} bytes once base64-decoded, not the ${modulusBytes} bytes of a ciphertext under the launch key pair` };
  }
  let block: Buffer;
  try {
    block = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch (error) {
    return { ok: false, reason: `PasswordData does not decrypt with the launch key pair: ${(error as Error).message}` };
  }
  const separator = block.indexOf(0, 2);
  if (block[0] !== 0 || block[1] !== 2 || separator < 10) return { ok: false, reason: 'PasswordData does not decrypt with the launch key pair: not PKCS#1 v1.5 padding' };
  const password = block.subarray(separator + 1).toString('utf8');
  return password.length > 0 ? { ok: true, password } : { ok: false, reason: 'PasswordData decrypts to an empty password' };
}
