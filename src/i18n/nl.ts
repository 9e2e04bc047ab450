import type { Catalogue } from './en.js';

/** Dutch, in the formal "u" that Dutch organisations use towards customers. */
export const nl: Catalogue = {
  'language.name': 'Nederlands',
  'language.switch': 'Taal',
  'portal.name': 'Portaal voor beveiligde berichten',
  'portal.logoAlt': 'Logo van {name}',

  'landing.title': 'Beveiligd bericht',
  'landing.heading': 'U hebt een beveiligd bericht',
  'landing.from': 'Van {sender}',
  'landing.prove': 'Om het te lezen, bevestigt u dat u de mail van {address} kunt lezen: we sturen daar een code van 6 cijfers naartoe.',
  'landing.codeSent': 'Er is een code verstuurd naar {address}. Deze is {minutes} minuten geldig.',
  'landing.codeLabel': 'Code uit de mail',
  'landing.open': 'Bericht openen',
  'landing.sendCode': 'Stuur mij een code',
  'landing.sendNewCode': 'Stuur een nieuwe code',

  'problem.tooSoon': 'Er is zojuist een code verstuurd. Wacht {seconds} seconden voordat u een nieuwe aanvraagt.',
  'problem.malformed': 'Vul de 6 cijfers uit de mail in.',
  'problem.expired': 'Deze code is verlopen. Vraag een nieuwe aan.',
  'problem.exhausted': 'Te veel onjuiste codes. Deze code werkt niet meer: vraag een nieuwe aan.',
  'problem.none': 'Er is geen code om te controleren. Vraag eerst een code aan.',
  'problem.wrongOne': 'Die code klopt niet. U hebt nog 1 poging.',
  'problem.wrongMany': 'Die code klopt niet. U hebt nog {count} pogingen.',
  'problem.unknown': 'Er ging iets mis. Probeer het opnieuw.',

  'locked.title': 'Link geblokkeerd',
  'locked.heading': 'Deze link is geblokkeerd',
  'locked.text':
    'Voor deze link zijn te veel onjuiste codes ingevuld. Om het bericht te beschermen is de link daarom geblokkeerd. Hij kan hier niet meer worden geopend, ook niet met een nieuwe code.',
  'locked.contact':
    'Neem contact op met de afzender, {sender}, en vraag of die de link voor u vrijgeeft. De afzender is al op de hoogte gebracht van de blokkering.',

  'tooMany.title': 'Te veel verzoeken',
  'tooMany.text': 'Vanuit uw netwerk kwamen in korte tijd te veel verzoeken binnen. Wacht {wait} en probeer het dan opnieuw.',
  'wait.minute': 'een minuut',
  'wait.minutes': '{count} minuten',

  'plainHttp.title': 'Beveiligde verbinding nodig',
  'plainHttp.heading': 'Deze pagina heeft een beveiligde verbinding nodig',
  'plainHttp.text':
    'Dit bericht kan alleen via een beveiligde (https://) verbinding worden geopend. Deze pagina is geopend via een onversleutelde http://-verbinding. Uw browser onthoudt dan niet dat u bent ingelogd: na het invullen van een code komt u gewoon weer bij het begin uit.',
  'plainHttp.advice': 'Laat de afzender weten dat de link naar het beveiligde bericht niet werkt. Vul hier geen code in.',
  'plainHttp.adminHeading': 'Voor de beheerder van deze gateway',
  'plainHttp.adminText':
    'Het portaal is bereikbaar via gewoon HTTP. Bied het aan via HTTPS (bijvoorbeeld achter een TLS-reverse-proxy) en stel {variable} ({key}) in op het https://-adres, zodat de links in de meldingen dat adres gebruiken.',

  'message.from': 'Van',
  'message.to': 'Aan',
  'message.date': 'Datum',
  'message.noSubject': '(geen onderwerp)',
  'message.frameTitle': 'Bericht',
  'message.attachments': 'Bijlagen',
  'message.remoteImages':
    'Dit bericht bevatte afbeeldingen die elders op internet staan. Die zijn geblokkeerd: het laden ervan kan de afzender of anderen laten weten dat, wanneer en waar u het bericht hebt gelezen.',
  'message.replyHeading': 'Beveiligd antwoorden',
  'message.replyLabel': 'Uw antwoord aan {name}',
  'message.replyFiles': 'Bijlagen (maximaal {count})',
  'message.replySend': 'Beveiligd antwoord versturen',
  'message.signOut': 'Uitloggen',
  'size.bytes': '{count} bytes',
  'size.kilobytes': '{count} kB',
  'size.megabytes': '{count} MB',

  'thread.heading': 'Uw antwoorden',
  'thread.you': 'U',
  'thread.sentOn': 'Verstuurd op {date}',
  'thread.files': 'Bijgevoegd: {names}',

  'reply.tooLong': 'De tekst van het antwoord is te lang.',
  'reply.tooLarge': 'De bijlagen zijn samen te groot (maximaal {megabytes} MB).',
  'reply.tooMany': 'Bij een antwoord kunnen maximaal {count} bijlagen worden meegestuurd.',
  'reply.empty': 'Schrijf een antwoord of voeg een bestand toe voordat u verstuurt.',

  'sent.title': 'Antwoord verstuurd',
  'sent.heading': 'Uw antwoord is verstuurd',
  'sent.text': 'Het gaat via hetzelfde beveiligde kanaal naar de afzender.',
  'sent.back': 'Terug naar het bericht',

  'signedOut.title': 'Uitgelogd',
  'signedOut.heading': 'U bent uitgelogd',
  'signedOut.again': 'Bericht opnieuw openen',

  'error.notSignedIn.title': 'Niet ingelogd',
  'error.notSignedIn.text': 'Open eerst de link naar het bericht en vul een code in.',
  'error.noAttachment.title': 'Bijlage bestaat niet',
  'error.noAttachment.text': 'Dit bericht heeft op dit adres geen bijlage.',
  'error.notFound.title': 'Pagina niet gevonden',
  'error.notFound.text': 'Op dit adres staat niets.',
  'error.unknownLink.title': 'Link niet gevonden',
  'error.unknownLink.text': 'Deze link leidt niet naar een bericht. Controleer of de link volledig is gekopieerd.',
  'error.withdrawn.title': 'Toegang ingetrokken',
  'error.withdrawn.text': 'De afzender heeft de toegang tot dit bericht ingetrokken.',
  'error.expired.title': 'Bericht verlopen',
  'error.expired.text': 'Dit bericht is verlopen en kan niet meer worden gelezen. Hebt u het nog nodig, vraag de afzender dan om het opnieuw te sturen.',
  'error.deleted.title': 'Bericht verwijderd',
  'error.deleted.text': 'De afzender heeft dit bericht verwijderd. Niemand kan het nog lezen.',
  'error.signInAgain.title': 'Log opnieuw in',
  'error.signInAgain.text': 'Uw sessie is beëindigd: vraag een nieuwe code aan om verder te gaan.',
  'error.signInAgain.back': 'Terug naar het bericht',
  'error.form.title': 'Formulier niet geaccepteerd',
  'error.form.text': 'Dit formulier komt niet van deze pagina of is verlopen. Ga terug, laad de pagina opnieuw en probeer het nog eens.',
  'error.tooLarge.text': 'Wat u hebt verstuurd, is te groot. Stuur minder of kleinere bijlagen mee.',
  'error.server.title': 'Er ging iets mis',
  'error.server.text': 'Er ging bij ons iets mis. Probeer het over een ogenblik opnieuw.',
  'error.request.title': 'Verzoek niet geaccepteerd',
  'error.request.text': 'Het verzoek kon niet worden verwerkt. Ga terug, laad de pagina opnieuw en probeer het nog eens.',

  'notify.subject': 'Beveiligd bericht van {sender}',
  'notify.intro': '{sender} heeft u een beveiligd bericht gestuurd.',
  'notify.readHere': 'U leest het hier:',
  'notify.button': 'Beveiligd bericht lezen',
  'notify.code': 'Bij het openen wordt u gevraagd om een eenmalige code, die naar dit e-mailadres wordt gestuurd.',
  'notify.until': 'Het bericht kan worden gelezen tot {date}.',

  'code.subject': 'Uw code voor het beveiligde bericht van {sender}',
  'code.intro': 'Uw code om het beveiligde bericht van {sender} te openen:',
  'code.once': 'De code is eenmalig te gebruiken, binnen {minutes} minuten.',
  'code.ignore': 'Hebt u deze code niet aangevraagd? Negeer deze mail dan: zonder de code kan niemand het bericht openen.',

  'receipt.subject': 'Gelezen: {subject}',
  'receipt.text': '{recipient} heeft uw beveiligde bericht "{subject}" geopend op {date}.',

  'confirm.subject': 'Uw beveiligde antwoord aan {sender} is verstuurd',
  'confirm.text': 'Uw antwoord op het beveiligde bericht van {sender} is op {date} beveiligd verstuurd.',
  'confirm.note': 'Wat u hebt geschreven, staat niet in deze mail. U kunt het in het portaal bekijken, na een nieuwe code, zolang het bericht te lezen is.',
};
