import type { Catalogue } from './en.js';

/** German, in the formal "Sie" of business mail. */
export const de: Catalogue = {
  'language.name': 'Deutsch',
  'language.switch': 'Sprache',
  'portal.name': 'Portal für sichere Nachrichten',
  'portal.logoAlt': 'Logo von {name}',

  'landing.title': 'Sichere Nachricht',
  'landing.heading': 'Sie haben eine sichere Nachricht',
  'landing.from': 'Von {sender}',
  'landing.prove': 'Um sie zu lesen, bestätigen Sie, dass Sie die E-Mails an {address} lesen können: Wir senden Ihnen dorthin einen 6-stelligen Code.',
  'landing.codeSent': 'Ein Code wurde an {address} gesendet. Er ist {minutes} Minuten lang gültig.',
  'landing.codeLabel': 'Code aus der E-Mail',
  'landing.open': 'Nachricht öffnen',
  'landing.sendCode': 'Code per E-Mail senden',
  'landing.sendNewCode': 'Neuen Code senden',

  'problem.tooSoon': 'Gerade eben wurde ein Code gesendet. Bitte warten Sie {seconds} Sekunden, bevor Sie einen neuen anfordern.',
  'problem.malformed': 'Bitte geben Sie die 6 Ziffern aus der E-Mail ein.',
  'problem.expired': 'Dieser Code ist abgelaufen. Fordern Sie einen neuen an.',
  'problem.exhausted': 'Zu viele falsche Codes. Dieser Code gilt nicht mehr: Fordern Sie einen neuen an.',
  'problem.none': 'Es gibt keinen Code zu prüfen. Fordern Sie zuerst einen Code an.',
  'problem.wrongOne': 'Dieser Code ist nicht richtig. Sie haben noch 1 Versuch.',
  'problem.wrongMany': 'Dieser Code ist nicht richtig. Sie haben noch {count} Versuche.',
  'problem.unknown': 'Etwas ist schiefgelaufen. Bitte versuchen Sie es noch einmal.',

  'locked.title': 'Link gesperrt',
  'locked.heading': 'Dieser Link ist gesperrt',
  'locked.text':
    'Für diesen Link wurden zu viele falsche Codes eingegeben. Zum Schutz der Nachricht wurde er deshalb gesperrt. Er lässt sich hier nicht mehr öffnen, auch nicht mit einem neuen Code.',
  'locked.contact':
    'Bitte wenden Sie sich an den Absender, {sender}, und bitten Sie darum, den Link für Sie zu entsperren. Der Absender wurde über die Sperre bereits informiert.',

  'tooMany.title': 'Zu viele Anfragen',
  'tooMany.text': 'Aus Ihrem Netzwerk kamen in kurzer Zeit zu viele Anfragen. Bitte warten Sie {wait} und versuchen Sie es dann erneut.',
  'wait.minute': 'eine Minute',
  'wait.minutes': '{count} Minuten',

  'plainHttp.title': 'Sichere Verbindung erforderlich',
  'plainHttp.heading': 'Diese Seite braucht eine sichere Verbindung',
  'plainHttp.text':
    'Diese Nachricht lässt sich nur über eine sichere (https://) Verbindung öffnen. Diese Seite wurde über eine unverschlüsselte http://-Verbindung aufgerufen. Ihr Browser würde Sie daher nicht angemeldet halten: Nach der Eingabe eines Codes kämen Sie nur wieder an den Anfang.',
  'plainHttp.advice': 'Bitte teilen Sie dem Absender mit, dass der Link zur sicheren Nachricht nicht funktioniert. Geben Sie hier keinen Code ein.',
  'plainHttp.adminHeading': 'Für die Administration dieses Gateways',
  'plainHttp.adminText':
    'Das Portal wird über unverschlüsseltes HTTP erreicht. Stellen Sie es über HTTPS bereit (zum Beispiel hinter einem TLS-Reverse-Proxy) und setzen Sie {variable} ({key}) auf seine https://-Adresse, damit die Links in den Benachrichtigungen sie verwenden.',

  'message.from': 'Von',
  'message.to': 'An',
  'message.date': 'Datum',
  'message.noSubject': '(kein Betreff)',
  'message.frameTitle': 'Nachricht',
  'message.attachments': 'Anhänge',
  'message.remoteImages':
    'Diese Nachricht enthielt Bilder, die an anderer Stelle im Internet liegen. Sie wurden blockiert: Ihr Laden könnte dem Absender oder Dritten verraten, dass, wann und wo Sie die Nachricht gelesen haben.',
  'message.replyHeading': 'Sicher antworten',
  'message.replyLabel': 'Ihre Antwort an {name}',
  'message.replyFiles': 'Anhänge (bis zu {count})',
  'message.replySend': 'Sichere Antwort senden',
  'message.signOut': 'Abmelden',
  'size.bytes': '{count} Byte',
  'size.kilobytes': '{count} KB',
  'size.megabytes': '{count} MB',

  'thread.heading': 'Ihre Antworten',
  'thread.you': 'Sie',
  'thread.sentOn': 'Gesendet am {date}',
  'thread.files': 'Angehängt: {names}',

  'reply.tooLong': 'Der Text der Antwort ist zu lang.',
  'reply.tooLarge': 'Die Anhänge sind zusammen zu groß (höchstens {megabytes} MB).',
  'reply.tooMany': 'Mit einer Antwort können höchstens {count} Anhänge gesendet werden.',
  'reply.empty': 'Schreiben Sie eine Antwort oder hängen Sie eine Datei an, bevor Sie senden.',

  'sent.title': 'Antwort gesendet',
  'sent.heading': 'Ihre Antwort wurde gesendet',
  'sent.text': 'Sie geht über denselben sicheren Weg an den Absender.',
  'sent.back': 'Zurück zur Nachricht',

  'signedOut.title': 'Abgemeldet',
  'signedOut.heading': 'Sie sind abgemeldet',
  'signedOut.again': 'Nachricht wieder öffnen',

  'error.notSignedIn.title': 'Nicht angemeldet',
  'error.notSignedIn.text': 'Öffnen Sie zuerst den Link zur Nachricht und geben Sie einen Code ein.',
  'error.noAttachment.title': 'Anhang nicht vorhanden',
  'error.noAttachment.text': 'Diese Nachricht hat unter dieser Adresse keinen Anhang.',
  'error.notFound.title': 'Seite nicht gefunden',
  'error.notFound.text': 'Unter dieser Adresse gibt es nichts.',
  'error.unknownLink.title': 'Link nicht gefunden',
  'error.unknownLink.text': 'Dieser Link führt zu keiner Nachricht. Prüfen Sie, ob er vollständig kopiert wurde.',
  'error.withdrawn.title': 'Zugriff entzogen',
  'error.withdrawn.text': 'Der Absender hat den Zugriff auf diese Nachricht entzogen.',
  'error.expired.title': 'Nachricht abgelaufen',
  'error.expired.text':
    'Diese Nachricht ist abgelaufen und kann nicht mehr gelesen werden. Wenn Sie sie noch brauchen, bitten Sie den Absender, sie erneut zu senden.',
  'error.deleted.title': 'Nachricht gelöscht',
  'error.deleted.text': 'Der Absender hat diese Nachricht gelöscht. Niemand kann sie mehr lesen.',
  'error.signInAgain.title': 'Bitte melden Sie sich erneut an',
  'error.signInAgain.text': 'Ihre Sitzung ist beendet: Fordern Sie einen neuen Code an, um fortzufahren.',
  'error.signInAgain.back': 'Zurück zur Nachricht',
  'error.form.title': 'Formular nicht angenommen',
  'error.form.text':
    'Dieses Formular stammt nicht von dieser Seite oder ist abgelaufen. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.',
  'error.tooLarge.text': 'Was Sie gesendet haben, ist zu groß. Senden Sie weniger oder kleinere Anhänge.',
  'error.server.title': 'Etwas ist schiefgelaufen',
  'error.server.text': 'Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es gleich noch einmal.',
  'error.request.title': 'Anfrage nicht angenommen',
  'error.request.text': 'Die Anfrage war nicht verständlich. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.',

  'notify.subject': 'Sichere Nachricht von {sender}',
  'notify.intro': '{sender} hat Ihnen eine sichere Nachricht gesendet.',
  'notify.readHere': 'Hier können Sie sie lesen:',
  'notify.button': 'Sichere Nachricht lesen',
  'notify.code': 'Zum Öffnen werden Sie nach einem Einmalcode gefragt, der an diese E-Mail-Adresse gesendet wird.',
  'notify.until': 'Die Nachricht kann bis {date} gelesen werden.',

  'code.subject': 'Ihr Code für die sichere Nachricht von {sender}',
  'code.intro': 'Ihr Code zum Öffnen der sicheren Nachricht von {sender}:',
  'code.once': 'Er kann einmal verwendet werden, innerhalb von {minutes} Minuten.',
  'code.ignore': 'Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese E-Mail: Ohne den Code kann niemand die Nachricht öffnen.',

  'receipt.subject': 'Gelesen: {subject}',
  'receipt.text': '{recipient} hat Ihre sichere Nachricht „{subject}“ am {date} geöffnet.',

  'confirm.subject': 'Ihre sichere Antwort an {sender} wurde gesendet',
  'confirm.text': 'Ihre Antwort auf die sichere Nachricht von {sender} wurde am {date} sicher gesendet.',
  'confirm.note':
    'Was Sie geschrieben haben, steht nicht in dieser E-Mail. Sie können es im Portal nach einem neuen Code ansehen, solange die Nachricht gelesen werden kann.',
};
