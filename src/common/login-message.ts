/** What a FIB client signs (through the Iroha hash): the email, or `<nonce>:<email>` for a challenge login. */
export function loginMessage(email: string, nonce?: string): string {
  return nonce === undefined ? email : `${nonce}:${email}`;
}
