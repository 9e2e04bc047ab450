/**
 * The English texts of the portal and of the mails a recipient or sender gets from it: the
 * reference catalogue. The other languages are typed by it (`Catalogue`), so a key missing in
 * one is a compile error; test/i18n.test.ts checks the same at run time, and that each text
 * keeps the placeholders of its English original. `{name}` is a placeholder; texts are plain
 * text, escaped by the view that shows them.
 */
export const en = {
  'language.name': 'English',
  'language.switch': 'Language',
  'portal.name': 'Secure message portal',
  'portal.logoAlt': 'Logo of {name}',

  'landing.title': 'Secure message',
  'landing.heading': 'You have a secure message',
  'landing.from': 'From {sender}',
  'landing.prove': 'To read it, prove that you can read mail sent to {address}: we mail a 6-digit code there.',
  'landing.codeSent': 'A code was sent to {address}. It is valid for {minutes} minutes.',
  'landing.codeLabel': 'Code from the mail',
  'landing.open': 'Open the message',
  'landing.sendCode': 'Email me a code',
  'landing.sendNewCode': 'Send a new code',

  'problem.tooSoon': 'A code was sent a moment ago. Please wait {seconds} seconds before asking for another one.',
  'problem.malformed': 'Please enter the 6 digits from the mail.',
  'problem.expired': 'This code has expired. Ask for a new one.',
  'problem.exhausted': 'Too many wrong codes. This code no longer works: ask for a new one.',
  'problem.none': 'There is no code to check. Ask for a code first.',
  'problem.wrongOne': 'That code is not right. 1 attempt left.',
  'problem.wrongMany': 'That code is not right. {count} attempts left.',
  'problem.unknown': 'Something went wrong. Please try again.',

  'locked.title': 'Link locked',
  'locked.heading': 'This link is locked',
  'locked.text':
    'Too many wrong codes were entered for this link, so it has been locked to protect the message. It cannot be opened from here any more, not even with a new code.',
  'locked.contact': 'Please contact the sender, {sender}, and ask them to unlock it for you. The sender has been told that the link was locked.',

  'tooMany.title': 'Too many requests',
  'tooMany.text': 'Too many requests came from your network in a short time. Please wait {wait} and try again.',
  'wait.minute': 'a minute',
  'wait.minutes': '{count} minutes',

  'plainHttp.title': 'Secure connection needed',
  'plainHttp.heading': 'This page needs a secure connection',
  'plainHttp.text':
    'This message can only be opened over a secure (https://) connection. This page was opened over an unencrypted http:// connection, so your browser would not keep you signed in: entering a code would just bring you back to the start.',
  'plainHttp.advice': 'Please tell the sender that their secure message link does not work. Do not enter any code here.',
  'plainHttp.adminHeading': 'For the administrator of this gateway',
  'plainHttp.adminText':
    'The portal is reached over plain HTTP. Serve it over HTTPS (for example behind a TLS reverse proxy) and set {variable} ({key}) to its https:// address, so that the links in the notifications use it.',

  'message.from': 'From',
  'message.to': 'To',
  'message.date': 'Date',
  'message.noSubject': '(no subject)',
  'message.frameTitle': 'Message',
  'message.attachments': 'Attachments',
  'message.remoteImages':
    'This message contained images stored elsewhere on the internet. They were blocked: loading them could tell the sender or others that, when and where you read the message.',
  'message.replyHeading': 'Reply securely',
  'message.replyLabel': 'Your reply to {name}',
  'message.replyFiles': 'Attachments (up to {count})',
  'message.replySend': 'Send secure reply',
  'message.signOut': 'Sign out',
  'size.bytes': '{count} bytes',
  'size.kilobytes': '{count} KB',
  'size.megabytes': '{count} MB',

  'thread.heading': 'Your replies',
  'thread.you': 'You',
  'thread.sentOn': 'Sent on {date}',
  'thread.files': 'Attached: {names}',

  'reply.tooLong': 'The reply text is too long.',
  'reply.tooLarge': 'The attachments are too large together (at most {megabytes} MB).',
  'reply.tooMany': 'At most {count} attachments can be sent with a reply.',
  'reply.empty': 'Write a reply or attach a file before sending.',

  'sent.title': 'Reply sent',
  'sent.heading': 'Your reply was sent',
  'sent.text': 'It goes to the sender over the same secure channel.',
  'sent.back': 'Back to the message',

  'signedOut.title': 'Signed out',
  'signedOut.heading': 'You are signed out',
  'signedOut.again': 'Open the message again',

  'error.notSignedIn.title': 'Not signed in',
  'error.notSignedIn.text': 'Open the message link and enter a code first.',
  'error.noAttachment.title': 'No such attachment',
  'error.noAttachment.text': 'This message has no attachment at that address.',
  'error.notFound.title': 'Page not found',
  'error.notFound.text': 'There is nothing at this address.',
  'error.unknownLink.title': 'Link not found',
  'error.unknownLink.text': 'This link does not lead to a message. Check that it was copied completely.',
  'error.withdrawn.title': 'Access withdrawn',
  'error.withdrawn.text': 'The sender has withdrawn access to this message.',
  'error.expired.title': 'Message expired',
  'error.expired.text': 'This message has expired and can no longer be read. If you still need it, ask the sender to send it again.',
  'error.deleted.title': 'Message deleted',
  'error.deleted.text': 'The sender has deleted this message. It can no longer be read by anyone.',
  'error.signInAgain.title': 'Please sign in again',
  'error.signInAgain.text': 'Your session has ended: ask for a new code to go on.',
  'error.signInAgain.back': 'Back to the message',
  'error.form.title': 'Form not accepted',
  'error.form.text': 'This form did not come from this page or has expired. Go back, reload the page and try again.',
  'error.tooLarge.text': 'What you sent is too large. Send fewer or smaller attachments.',
  'error.server.title': 'Something went wrong',
  'error.server.text': 'Something went wrong on our side. Please try again in a moment.',
  'error.request.title': 'Request not accepted',
  'error.request.text': 'The request could not be understood. Go back, reload the page and try again.',

  'notify.subject': 'Secure message from {sender}',
  'notify.intro': '{sender} sent you a secure message.',
  'notify.readHere': 'Read it here:',
  'notify.button': 'Read the secure message',
  'notify.code': 'To open it you will be asked for a one-time code, which is sent to this email address.',
  'notify.until': 'The message can be read until {date}.',

  'code.subject': 'Your code for the secure message from {sender}',
  'code.intro': 'Your code to open the secure message from {sender}:',
  'code.once': 'It can be used once, within {minutes} minutes.',
  'code.ignore': 'If you did not ask for it, ignore this mail: without the code nobody can open the message.',

  'receipt.subject': 'Read: {subject}',
  'receipt.text': '{recipient} opened your secure message "{subject}" on {date}.',

  'confirm.subject': 'Your secure reply to {sender} was sent',
  'confirm.text': 'Your reply to the secure message from {sender} was sent securely on {date}.',
  'confirm.note': 'What you wrote is not repeated in this mail. You can see it in the portal, after a new code, for as long as the message can be read.',
} as const;

export type MessageKey = keyof typeof en;
/** What every language provides: each key of the English catalogue, no more. */
export type Catalogue = { readonly [K in MessageKey]: string };
