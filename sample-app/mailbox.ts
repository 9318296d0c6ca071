// Where "e-mails" go: the app sends none; password-reset messages are kept here (last 100) and
// listed by the admin server (GET /mailbox), so a front-end flow can follow a reset link.
export interface Mail {
  to: string;
  subject: string;
  link: string;
  sentAt: string;
}

export class Mailbox {
  #mails: Mail[] = [];
  send(mail: Omit<Mail, 'sentAt'>): void {
    this.#mails.push({ ...mail, sentAt: new Date().toISOString() });
    if (this.#mails.length > 100) this.#mails.shift();
  }
  list(to?: string): Mail[] {
    const all = [...this.#mails].reverse();
    return to ? all.filter((m) => m.to.toLowerCase() === to.toLowerCase()) : all;
  }
  clear(): void {
    this.#mails = [];
  }
}
