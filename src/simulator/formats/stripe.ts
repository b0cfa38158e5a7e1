// Stripe Issuing webhooks (`POST /v1/events/stripe/{processor_id}`), shaped like the objects of Stripe's API
// reference: `issuing_authorization.created` for authorizations, `issuing_transaction.created` (type `capture`
// or `refund`) for clearings and refunds. One event per request, as Stripe sends them; the card is named by
// its `ic_…` id, linked to its number beforehand with `POST /v1/card_tokens`.
import { createHmac } from 'node:crypto';
import { schemeOf } from '../../cards/pan.ts';
import type { EntryMode } from '../../lib/payments.ts';
import type { PlannedEvent } from '../plan.ts';
import { BASE62, Random } from '../random.ts';
import type { RenderContext } from './context.ts';

const API_VERSION = '2025-10-29.clover';

const AUTHORIZATION_METHOD: Record<EntryMode, string> = {
  contactless: 'contactless',
  chip: 'chip',
  magstripe: 'swipe',
  manual: 'keyed_in',
  ecommerce: 'online',
  card_on_file: 'online',
  unknown: 'online',
};

const BRAND: Record<ReturnType<typeof schemeOf>, string> = {
  visa: 'Visa',
  mastercard: 'MasterCard',
  amex: 'American Express',
  discover: 'Discover',
  unknown: 'Unknown',
};

/** Stripe's merchant category names for the MCCs of the simulated world. */
const CATEGORY: Record<string, string> = {
  '4111': 'commuter_transport_and_ferries',
  '4121': 'taxicabs_limousines',
  '4511': 'airlines_air_carriers',
  '4899': 'cable_satellite_and_other_pay_television_and_radio',
  '5251': 'hardware_stores',
  '5411': 'grocery_stores_supermarkets',
  '5441': 'candy_nut_and_confectionery_stores',
  '5462': 'bakeries',
  '5541': 'service_stations',
  '5542': 'automated_fuel_dispensers',
  '5651': 'family_clothing_stores',
  '5691': 'mens_womens_clothing_stores',
  '5732': 'electronics_stores',
  '5734': 'computer_software_stores',
  '5812': 'eating_places_restaurants',
  '5814': 'fast_food_restaurants',
  '5912': 'drug_stores_and_pharmacies',
  '5921': 'package_stores_beer_wine_and_liquor',
  '5941': 'sporting_goods_stores',
  '5942': 'book_stores',
  '5992': 'florists',
  '5995': 'pet_shops_pet_food_and_supplies',
  '7011': 'hotels_motels_and_resorts',
  '7523': 'parking_lots_garages',
  '7542': 'car_washes',
  '7832': 'motion_picture_theaters',
  '7997': 'clubs_country_clubs_membership_athletic_recreation_sports_private_golf_courses',
};

const stripeId = (prefix: string, context: RenderContext, ...parts: (string | number)[]) =>
  `${prefix}_${Random.for(context.idPrefix, prefix, ...parts).text(24, BASE62)}`;

export const authorizationId = (context: RenderContext, purchase: number) =>
  stripeId('iauth', context, purchase);

function merchantData(context: RenderContext, event: PlannedEvent) {
  const merchant = context.merchant(event);
  const location = merchant.locations[event.location]!;
  return {
    category: CATEGORY[merchant.mcc] ?? 'miscellaneous_general_merchandise',
    category_code: merchant.mcc,
    city: location.city,
    country: merchant.country,
    name: merchant.name,
    network_id: location.mid,
    postal_code: location.postalCode,
    state: location.region,
    tax_id: null,
    terminal_id: event.terminal,
    url: null,
  };
}

function authorizationObject(context: RenderContext, event: PlannedEvent, created: number) {
  const card = context.card(event.card);
  const currency = event.currency.toLowerCase();
  return {
    id: authorizationId(context, event.purchase),
    object: 'issuing.authorization',
    amount: event.amount,
    amount_details: { atm_fee: null, cashback_amount: 0 },
    approved: true,
    authorization_method: AUTHORIZATION_METHOD[event.entryMode],
    balance_transactions: [],
    card: {
      id: card.token,
      object: 'issuing.card',
      brand: BRAND[schemeOf(card.pan)],
      currency,
      exp_month: card.expMonth,
      exp_year: card.expYear,
      last4: card.pan.slice(-4),
      livemode: false,
      status: 'active',
      type: 'physical',
    },
    cardholder: stripeId('ich', context, 'card', event.card),
    created,
    currency,
    livemode: false,
    merchant_amount: event.amount,
    merchant_currency: currency,
    merchant_data: merchantData(context, event),
    metadata: {},
    network_data: {
      acquiring_institution_id: '000000012345',
      system_trace_audit_number: event.rrn.slice(-6),
      transaction_id: event.rrn,
    },
    pending_request: null,
    request_history: [
      {
        amount: event.amount,
        amount_details: { atm_fee: null, cashback_amount: 0 },
        approved: true,
        authorization_code: event.authCode,
        created,
        currency,
        merchant_amount: event.amount,
        merchant_currency: currency,
        reason: 'webhook_approved',
        reason_message: null,
        requested_at: created,
      },
    ],
    status: 'pending',
    transactions: [],
    wallet: null,
  };
}

function transactionObject(context: RenderContext, event: PlannedEvent, created: number) {
  const card = context.card(event.card);
  const currency = event.currency.toLowerCase();
  // Stripe signs amounts from the balance's side: a capture takes money (negative), a refund gives it back.
  const signed = event.type === 'refund' ? event.amount : -event.amount;
  return {
    id: stripeId('ipi', context, event.purchase, event.type),
    object: 'issuing.transaction',
    amount: signed,
    amount_details: { atm_fee: null, cashback_amount: 0 },
    authorization: authorizationId(context, event.purchase),
    balance_transaction: stripeId('txn', context, event.purchase, event.type),
    card: card.token,
    cardholder: stripeId('ich', context, 'card', event.card),
    created,
    currency,
    dispute: null,
    livemode: false,
    merchant_amount: signed,
    merchant_currency: currency,
    merchant_data: merchantData(context, event),
    metadata: {},
    network_data: {
      authorization_code: event.authCode,
      processing_date: new Date(created * 1000).toISOString().slice(0, 10),
      transaction_id: event.rrn,
    },
    type: event.type === 'refund' ? 'refund' : 'capture',
    wallet: null,
  };
}

/** The Stripe Event a planned event becomes (the same bytes when Stripe retries it). */
export function stripeBody(context: RenderContext, event: PlannedEvent): string {
  if (event.type === 'reversal') throw new Error('Stripe Issuing feeds carry no reversals');
  const created = Math.floor((context.startMs + event.occurredMs) / 1000);
  const isAuthorization = event.type === 'authorization';
  const object = isAuthorization
    ? authorizationObject(context, event, created)
    : transactionObject(context, event, created);
  return JSON.stringify({
    id: stripeId('evt', context, event.purchase, event.type),
    object: 'event',
    api_version: API_VERSION,
    created: created + 1,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: isAuthorization ? 'issuing_authorization.created' : 'issuing_transaction.created',
  });
}

/** The `Stripe-Signature` header: HMAC-SHA256 of `t.body` keyed with the whole endpoint secret, in hex. */
export function stripeSignature(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}
