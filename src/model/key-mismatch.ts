/** An instance whose keys are not the ones its store was used with (src/store/shared-keys.ts, src/audit/audit-keying.ts): it refuses to start, exit 78. */
export class KeyMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyMismatch';
  }
}
