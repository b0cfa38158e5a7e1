// The simulated world's merchants: fixed (not drawn from the seed), so a scene registered once with
// `POST /v1/merchants` matches every later run's traffic.
import type { EntryMode } from '../lib/payments.ts';

export type MerchantCategory =
  | 'coffee'
  | 'bakery'
  | 'grocery'
  | 'fuel'
  | 'airline'
  | 'hotel'
  | 'restaurant'
  | 'fast_food'
  | 'books'
  | 'pharmacy'
  | 'retail'
  | 'electronics'
  | 'transport'
  | 'subscription'
  | 'leisure'
  | 'services';

export interface MerchantLocation {
  /** The merchant id (card acceptor id) its terminals send: at most 15 printable characters (ISO 8583 DE42). */
  mid: string;
  city: string;
  region: string;
  postalCode: string;
}

export interface SimulatedMerchant {
  /** A stable key for code that names a merchant (the demo's triggers). */
  key: string;
  /** As the card networks carry it: at most 25 characters (ISO 8583 DE43). */
  name: string;
  mcc: string;
  category: MerchantCategory;
  country: string;
  /** IANA time zone of its locations: the local time of its purchases. */
  timezone: string;
  currency: string;
  locations: MerchantLocation[];
  /** How often cardholders buy here, relative to the others. */
  popularity: number;
  /** Purchase amounts in minor units, [min, max]; small amounts are likelier. */
  amount: [number, number];
  entryModes: EntryMode[];
}

const IN_PERSON: EntryMode[] = ['contactless', 'contactless', 'chip', 'chip', 'magstripe'];
const ONLINE: EntryMode[] = ['ecommerce', 'ecommerce', 'card_on_file'];

/** A time zone with the country and currency of the merchants there. */
type Zone = [timezone: string, country: string, currency: string];
const US_PACIFIC: Zone = ['America/Los_Angeles', 'US', 'USD'];
const US_MOUNTAIN: Zone = ['America/Denver', 'US', 'USD'];
const US_CENTRAL: Zone = ['America/Chicago', 'US', 'USD'];
const US_EASTERN: Zone = ['America/New_York', 'US', 'USD'];
const CA_TORONTO: Zone = ['America/Toronto', 'CA', 'CAD'];
const GB_LONDON: Zone = ['Europe/London', 'GB', 'GBP'];
const FR_PARIS: Zone = ['Europe/Paris', 'FR', 'EUR'];
const DE_BERLIN: Zone = ['Europe/Berlin', 'DE', 'EUR'];
const JP_TOKYO: Zone = ['Asia/Tokyo', 'JP', 'JPY'];

type Place = [city: string, region: string, postalCode: string];
const SEA: Place = ['Seattle', 'WA', '98101'];
const PDX: Place = ['Portland', 'OR', '97205'];
const SFO: Place = ['San Francisco', 'CA', '94107'];
const OAK: Place = ['Oakland', 'CA', '94607'];
const LAX: Place = ['Los Angeles', 'CA', '90012'];
const NYC: Place = ['New York', 'NY', '10001'];
const BOS: Place = ['Boston', 'MA', '02108'];
const CHI: Place = ['Chicago', 'IL', '60601'];
const AUS: Place = ['Austin', 'TX', '78701'];
const DEN: Place = ['Denver', 'CO', '80202'];

type Row = [
  key: string,
  name: string,
  mcc: string,
  category: MerchantCategory,
  /** A location's MID is this and its number from 0001, in the order of `places`. */
  midPrefix: string,
  zone: Zone,
  amount: [number, number],
  popularity: number,
  entryModes: EntryMode[],
  places: Place[],
];

// biome-ignore format: one merchant a line, in columns
const ROWS: Row[] = [
  // key                  name                      mcc     category        MID        zone         amount           pop entry      places
  ['driftwood-coffee',    'DRIFTWOOD COFFEE',       '5814', 'coffee',       'DRIFTWD', US_PACIFIC,  [325, 950],      14, IN_PERSON, [SEA, SEA, PDX, SFO, SFO, OAK, LAX, LAX]],
  ['morning-ritual',      'MORNING RITUAL CAFE',    '5814', 'coffee',       'MRNGRTL', US_EASTERN,  [350, 1100],     5,  IN_PERSON, [NYC, BOS]],
  ['kettle-crumb',        'KETTLE & CRUMB BAKERY',  '5462', 'bakery',       'KTLCRMB', US_CENTRAL,  [400, 2400],     2,  IN_PERSON, [CHI]],
  ['greenleaf-market',    'GREENLEAF MARKET',       '5411', 'grocery',      'GRNLEAF', US_PACIFIC,  [1200, 16000],   8,  IN_PERSON, [SFO, OAK, SEA]],
  ['harvest-basket',      'HARVEST BASKET GROCERS', '5411', 'grocery',      'HRVSTBK', US_CENTRAL,  [1500, 18000],   6,  IN_PERSON, [CHI, AUS]],
  ['corner-fresh',        'CORNER FRESH MARKET',    '5411', 'grocery',      'CRNRFRS', US_EASTERN,  [800, 9000],     6,  IN_PERSON, [NYC, BOS]],
  ['summit-fuel',         'SUMMIT FUEL',            '5541', 'fuel',         'SUMMITF', US_MOUNTAIN, [2500, 9000],    4,  IN_PERSON, [DEN, AUS]],
  ['coastline-gas',       'COASTLINE GAS & GO',     '5542', 'fuel',         'CSTLNGS', US_PACIFIC,  [3000, 9500],    4,  IN_PERSON, [LAX, SFO]],
  ['eastway-petroleum',   'EASTWAY PETROLEUM',      '5541', 'fuel',         'ESTWYPT', US_EASTERN,  [2800, 8500],    3,  IN_PERSON, [BOS, NYC]],
  ['nimbus-air',          'NIMBUS AIR',             '4511', 'airline',      'NIMBUSA', US_PACIFIC,  [9000, 68000],   1,  ONLINE,    [SEA]],
  ['polar-airways',       'POLAR AIRWAYS',          '4511', 'airline',      'POLARAW', US_CENTRAL,  [12000, 85000],  1,  ONLINE,    [CHI]],
  ['atlantic-skylines',   'ATLANTIC SKYLINES',      '4511', 'airline',      'ATLSKYL', US_EASTERN,  [15000, 120000], 1,  ONLINE,    [NYC]],
  ['harborview-hotel',    'HARBORVIEW HOTEL',       '7011', 'hotel',        'HRBRVWH', US_PACIFIC,  [18000, 72000],  1,  IN_PERSON, [SFO]],
  ['lantern-inn',         'THE LANTERN INN',        '7011', 'hotel',        'LNTRNIN', US_EASTERN,  [14000, 52000],  1,  IN_PERSON, [BOS]],
  ['red-rock-lodge',      'RED ROCK LODGE',         '7011', 'hotel',        'REDROCK', US_MOUNTAIN, [12000, 46000],  1,  IN_PERSON, [DEN]],
  ['trattoria-sole',      'TRATTORIA SOLE',         '5812', 'restaurant',   'TRTSOLE', US_PACIFIC,  [2400, 14000],   2,  IN_PERSON, [SFO]],
  ['smoke-barrel',        'SMOKE & BARREL BBQ',     '5812', 'restaurant',   'SMKBRRL', US_CENTRAL,  [1800, 9000],    2,  IN_PERSON, [AUS]],
  ['golden-dumpling',     'GOLDEN DUMPLING HOUSE',  '5812', 'restaurant',   'GLDDMPL', US_PACIFIC,  [1500, 7000],    2,  IN_PERSON, [LAX]],
  ['bistro-verde',        'BISTRO VERDE',           '5812', 'restaurant',   'BSTVRDE', US_EASTERN,  [3000, 16000],   2,  IN_PERSON, [NYC]],
  ['slice-brothers',      'SLICE BROTHERS PIZZA',   '5814', 'fast_food',    'SLCBROS', US_CENTRAL,  [600, 3200],     4,  IN_PERSON, [CHI, NYC]],
  ['taco-camino',         'TACO CAMINO',            '5814', 'fast_food',    'TACOCMN', US_PACIFIC,  [500, 2400],     4,  IN_PERSON, [LAX, AUS]],
  ['burger-union',        'BURGER UNION',           '5814', 'fast_food',    'BRGRUNN', US_MOUNTAIN, [700, 2800],     3,  IN_PERSON, [DEN, SEA]],
  ['page-quill',          'PAGE & QUILL BOOKS',     '5942', 'books',        'PAGEQLL', US_PACIFIC,  [900, 6500],     1,  IN_PERSON, [PDX]],
  ['chapter-one',         'CHAPTER ONE BOOKSHOP',   '5942', 'books',        'CHPTONE', US_EASTERN,  [800, 5500],     1,  IN_PERSON, [BOS]],
  ['cityrx',              'CITYRX PHARMACY',        '5912', 'pharmacy',     'CITYRXP', US_EASTERN,  [400, 6000],     4,  IN_PERSON, [NYC, CHI, SFO]],
  ['well-good',           'WELL & GOOD DRUGSTORE',  '5912', 'pharmacy',     'WLLGOOD', US_CENTRAL,  [400, 5000],     2,  IN_PERSON, [AUS]],
  ['peak-outfitters',     'PEAK OUTFITTERS',        '5941', 'retail',       'PKOUTFT', US_MOUNTAIN, [2500, 30000],   1,  IN_PERSON, [DEN]],
  ['threadline',          'THREADLINE APPAREL',     '5651', 'retail',       'THRDLNE', US_EASTERN,  [2000, 22000],   1,  IN_PERSON, [NYC]],
  ['urban-thread',        'URBAN THREAD CO',        '5691', 'retail',       'URBTHRD', US_PACIFIC,  [2500, 26000],   1,  IN_PERSON, [LAX]],
  ['voltage',             'VOLTAGE ELECTRONICS',    '5732', 'electronics',  'VOLTAGE', US_PACIFIC,  [1500, 120000],  1,  IN_PERSON, [SEA]],
  ['home-hearth',         'HOME & HEARTH HARDWARE', '5251', 'retail',       'HMHRTHW', US_PACIFIC,  [800, 18000],    2,  IN_PERSON, [PDX, AUS]],
  ['pawsome',             'PAWSOME PET SUPPLY',     '5995', 'retail',       'PAWSOME', US_PACIFIC,  [1200, 9000],    1,  IN_PERSON, [SFO]],
  ['glideride',           'GLIDERIDE',              '4121', 'transport',    'GLDRIDE', US_PACIFIC,  [800, 4800],     4,  ONLINE,    [SFO, NYC]],
  ['metro-fares',         'METROTRANSIT FARES',     '4111', 'transport',    'MTROFRS', US_EASTERN,  [290, 3400],     3,  IN_PERSON, [NYC]],
  ['streamwave',          'STREAMWAVE',             '4899', 'subscription', 'STRMWVE', US_PACIFIC,  [999, 2299],     2,  ONLINE,    [LAX]],
  ['cloudnest',           'CLOUDNEST STORAGE',      '5734', 'subscription', 'CLDNEST', US_PACIFIC,  [299, 1999],     1,  ONLINE,    [SEA]],
  ['fitforge',            'FITFORGE GYM',           '7997', 'leisure',      'FITFRGE', US_CENTRAL,  [2500, 8900],    1,  IN_PERSON, [CHI]],
  ['cinema-paradiso',     'CINEMA PARADISO',        '7832', 'leisure',      'CNMPRDS', US_PACIFIC,  [1200, 4800],    2,  IN_PERSON, [LAX]],
  ['greenway-wash',       'GREENWAY CAR WASH',      '7542', 'services',     'GRNWYWS', US_CENTRAL,  [900, 3500],     1,  IN_PERSON, [AUS]],
  ['quickpark',           'QUICKPARK GARAGES',      '7523', 'services',     'QCKPARK', US_EASTERN,  [600, 4500],     2,  IN_PERSON, [BOS]],
  ['bloom-stem',          'BLOOM & STEM FLORIST',   '5992', 'retail',       'BLMSTEM', US_PACIFIC,  [2500, 12000],   1,  IN_PERSON, [PDX]],
  ['sweet-tooth',         'SWEET TOOTH CANDY',      '5441', 'retail',       'SWTTOTH', US_PACIFIC,  [300, 2500],     1,  IN_PERSON, [SFO]],
  ['vino-cellars',        'VINO CELLARS',           '5921', 'retail',       'VINOCLR', US_PACIFIC,  [1500, 18000],   1,  IN_PERSON, [SFO]],
  ['maple-grocers',       'MAPLE LEAF GROCERS',     '5411', 'grocery',      'MPLLEAF', CA_TORONTO,  [1200, 14000],   2,  IN_PERSON, [['Toronto', 'ON', 'M5H 2N2']]],
  ['northern-brew',       'NORTHERN BREW CAFE',     '5814', 'coffee',       'NRTHBRW', CA_TORONTO,  [300, 900],      2,  IN_PERSON, [['Toronto', 'ON', 'M5V 2T6']]],
  ['thames-coffee',       'THAMES SIDE COFFEE',     '5814', 'coffee',       'THMSCFE', GB_LONDON,   [280, 750],      2,  IN_PERSON, [['London', 'LND', 'SE1 9PX']]],
  ['camden-books',        'CAMDEN BOOKS',           '5942', 'books',        'CMDNBKS', GB_LONDON,   [700, 4500],     1,  IN_PERSON, [['London', 'LND', 'NW1 8AH']]],
  ['boulangerie-lumiere', 'BOULANGERIE LUMIERE',    '5462', 'bakery',       'BLNGLMR', FR_PARIS,    [180, 1800],     1,  IN_PERSON, [['Paris', 'IDF', '75004']]],
  ['spree-markt',         'SPREE MARKT',            '5411', 'grocery',      'SPRMRKT', DE_BERLIN,   [900, 9000],     1,  IN_PERSON, [['Berlin', 'BE', '10178']]],
  ['sakura-ramen',        'SAKURA RAMEN',           '5812', 'restaurant',   'SKRRAMN', JP_TOKYO,    [850, 2400],     1,  IN_PERSON, [['Tokyo', '13', '100-0005']]],
];

const merchant = (row: Row): SimulatedMerchant => {
  const [key, name, mcc, category, midPrefix, zone, amount, popularity, entryModes, places] = row;
  const [timezone, country, currency] = zone;
  const locations = places.map(([city, region, postalCode], i) => ({
    mid: `${midPrefix}${String(i + 1).padStart(4, '0')}`,
    city,
    region,
    postalCode,
  }));
  return { key, name, mcc, category, country, timezone, currency, locations, popularity, amount, entryModes };
};

/** The fifty merchants of the simulated world (fictional names). */
export const MERCHANTS: readonly SimulatedMerchant[] = ROWS.map(merchant);

export const merchantByKey = (key: string): SimulatedMerchant => {
  const found = MERCHANTS.find((m) => m.key === key);
  if (!found) throw new Error(`no simulated merchant ${key}`);
  return found;
};
