import type { Catalogue } from './en.js';

/** French, addressing the reader as "vous". */
export const fr: Catalogue = {
  'language.name': 'Français',
  'language.switch': 'Langue',
  'portal.name': 'Portail des messages sécurisés',
  'portal.logoAlt': 'Logo de {name}',

  'landing.title': 'Message sécurisé',
  'landing.heading': 'Vous avez reçu un message sécurisé',
  'landing.from': 'De la part de {sender}',
  'landing.prove': 'Pour le lire, confirmez que vous avez accès aux e-mails envoyés à {address} : nous vous y envoyons un code à 6 chiffres.',
  'landing.codeSent': 'Un code a été envoyé à {address}. Il est valable {minutes} minutes.',
  'landing.codeLabel': 'Code reçu par e-mail',
  'landing.open': 'Ouvrir le message',
  'landing.sendCode': 'Recevoir un code par e-mail',
  'landing.sendNewCode': 'Envoyer un nouveau code',

  'problem.tooSoon': 'Un code vient d’être envoyé. Veuillez patienter {seconds} secondes avant d’en demander un autre.',
  'problem.malformed': 'Veuillez saisir les 6 chiffres reçus par e-mail.',
  'problem.expired': 'Ce code a expiré. Demandez-en un nouveau.',
  'problem.exhausted': 'Trop de codes erronés. Ce code n’est plus valable : demandez-en un nouveau.',
  'problem.none': 'Aucun code à vérifier. Demandez d’abord un code.',
  'problem.wrongOne': 'Ce code est incorrect. Il vous reste 1 essai.',
  'problem.wrongMany': 'Ce code est incorrect. Il vous reste {count} essais.',
  'problem.unknown': 'Une erreur s’est produite. Veuillez réessayer.',

  'locked.title': 'Lien bloqué',
  'locked.heading': 'Ce lien est bloqué',
  'locked.text':
    'Trop de codes erronés ont été saisis pour ce lien : il a donc été bloqué pour protéger le message. Il ne peut plus être ouvert ici, même avec un nouveau code.',
  'locked.contact': 'Veuillez contacter l’expéditeur, {sender}, et lui demander de débloquer le lien. L’expéditeur a été informé du blocage.',

  'tooMany.title': 'Trop de requêtes',
  'tooMany.text': 'Votre réseau a envoyé trop de requêtes en peu de temps. Veuillez patienter {wait}, puis réessayer.',
  'wait.minute': 'une minute',
  'wait.minutes': '{count} minutes',

  'plainHttp.title': 'Connexion sécurisée requise',
  'plainHttp.heading': 'Cette page nécessite une connexion sécurisée',
  'plainHttp.text':
    'Ce message ne peut être ouvert que par une connexion sécurisée (https://). Cette page a été ouverte par une connexion http:// non chiffrée : votre navigateur ne garderait pas votre session, et saisir un code vous ramènerait simplement au début.',
  'plainHttp.advice': 'Veuillez signaler à l’expéditeur que le lien de son message sécurisé ne fonctionne pas. Ne saisissez aucun code ici.',
  'plainHttp.adminHeading': 'Pour l’administrateur de cette passerelle',
  'plainHttp.adminText':
    'Le portail est accessible en HTTP non chiffré. Servez-le en HTTPS (par exemple derrière un proxy inverse TLS) et réglez {variable} ({key}) sur son adresse https://, afin que les liens des notifications l’utilisent.',

  'message.from': 'De',
  'message.to': 'À',
  'message.date': 'Date',
  'message.noSubject': '(sans objet)',
  'message.frameTitle': 'Message',
  'message.attachments': 'Pièces jointes',
  'message.remoteImages':
    'Ce message contenait des images hébergées ailleurs sur Internet. Elles ont été bloquées : les charger pourrait indiquer à l’expéditeur ou à des tiers que vous avez lu le message, quand et où.',
  'message.replyHeading': 'Répondre de façon sécurisée',
  'message.replyLabel': 'Votre réponse à {name}',
  'message.replyFiles': 'Pièces jointes ({count} au maximum)',
  'message.replySend': 'Envoyer la réponse sécurisée',
  'message.signOut': 'Se déconnecter',
  'size.bytes': '{count} octets',
  'size.kilobytes': '{count} Ko',
  'size.megabytes': '{count} Mo',

  'thread.heading': 'Vos réponses',
  'thread.you': 'Vous',
  'thread.sentOn': 'Envoyée le {date}',
  'thread.files': 'Pièces jointes : {names}',

  'reply.tooLong': 'Le texte de la réponse est trop long.',
  'reply.tooLarge': 'Les pièces jointes sont trop volumineuses au total ({megabytes} Mo au maximum).',
  'reply.tooMany': 'Une réponse peut comporter au maximum {count} pièces jointes.',
  'reply.empty': 'Écrivez une réponse ou joignez un fichier avant d’envoyer.',

  'sent.title': 'Réponse envoyée',
  'sent.heading': 'Votre réponse a été envoyée',
  'sent.text': 'Elle parvient à l’expéditeur par le même canal sécurisé.',
  'sent.back': 'Retour au message',

  'signedOut.title': 'Déconnecté',
  'signedOut.heading': 'Vous êtes déconnecté',
  'signedOut.again': 'Rouvrir le message',

  'error.notSignedIn.title': 'Non connecté',
  'error.notSignedIn.text': 'Ouvrez d’abord le lien du message et saisissez un code.',
  'error.noAttachment.title': 'Pièce jointe introuvable',
  'error.noAttachment.text': 'Ce message n’a pas de pièce jointe à cette adresse.',
  'error.notFound.title': 'Page introuvable',
  'error.notFound.text': 'Il n’y a rien à cette adresse.',
  'error.unknownLink.title': 'Lien introuvable',
  'error.unknownLink.text': 'Ce lien ne mène à aucun message. Vérifiez qu’il a été copié en entier.',
  'error.withdrawn.title': 'Accès retiré',
  'error.withdrawn.text': 'L’expéditeur a retiré l’accès à ce message.',
  'error.expired.title': 'Message expiré',
  'error.expired.text': 'Ce message a expiré et ne peut plus être lu. Si vous en avez encore besoin, demandez à l’expéditeur de vous le renvoyer.',
  'error.deleted.title': 'Message supprimé',
  'error.deleted.text': 'L’expéditeur a supprimé ce message. Plus personne ne peut le lire.',
  'error.signInAgain.title': 'Veuillez vous reconnecter',
  'error.signInAgain.text': 'Votre session a pris fin : demandez un nouveau code pour continuer.',
  'error.signInAgain.back': 'Retour au message',
  'error.form.title': 'Formulaire refusé',
  'error.form.text': 'Ce formulaire ne provient pas de cette page ou a expiré. Revenez en arrière, rechargez la page et réessayez.',
  'error.tooLarge.text': 'Votre envoi est trop volumineux. Joignez moins de fichiers ou des fichiers plus petits.',
  'error.server.title': 'Une erreur s’est produite',
  'error.server.text': 'Une erreur s’est produite de notre côté. Veuillez réessayer dans un instant.',
  'error.request.title': 'Requête refusée',
  'error.request.text': 'La requête n’a pas pu être comprise. Revenez en arrière, rechargez la page et réessayez.',

  'notify.subject': 'Message sécurisé de {sender}',
  'notify.intro': '{sender} vous a envoyé un message sécurisé.',
  'notify.readHere': 'Lisez-le ici :',
  'notify.button': 'Lire le message sécurisé',
  'notify.code': 'Pour l’ouvrir, un code à usage unique vous sera demandé ; il est envoyé à cette adresse e-mail.',
  'notify.until': 'Le message peut être lu jusqu’au {date}.',

  'code.subject': 'Votre code pour le message sécurisé de {sender}',
  'code.intro': 'Votre code pour ouvrir le message sécurisé de {sender} :',
  'code.once': 'Il ne peut servir qu’une fois, dans les {minutes} minutes.',
  'code.ignore': 'Si vous ne l’avez pas demandé, ignorez cet e-mail : sans le code, personne ne peut ouvrir le message.',

  'receipt.subject': 'Lu : {subject}',
  'receipt.text': '{recipient} a ouvert votre message sécurisé « {subject} » le {date}.',

  'confirm.subject': 'Votre réponse sécurisée à {sender} a été envoyée',
  'confirm.text': 'Votre réponse au message sécurisé de {sender} a été envoyée de façon sécurisée le {date}.',
  'confirm.note':
    'Ce que vous avez écrit ne figure pas dans cet e-mail. Vous pouvez le consulter dans le portail, après un nouveau code, tant que le message peut être lu.',
};
