/** Refusal texts shared by every place that checks a root folder, so users read one wording. */
export const rootMessages = {
  missing: (role: string, name: string) =>
    `${role} \`${name}\` does not exist: check the path (is the drive connected?).`,
  notAFolder: (role: string, name: string) => `${role} \`${name}\` is not a folder: give the path of a folder.`,
  unreadable: (role: string, name: string) =>
    `${role} \`${name}\` cannot be read: permission denied. Fix its permissions or run as a user who can read it.`,
};
