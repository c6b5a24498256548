// Public code lists for the synthetic Danish-style registers (src/demo/registers.ts): regions,
// the 98 municipalities, sex, age bands, an ICD-10 subset, an ATC subset, hospitals and education
// levels. Code lists are public metadata (DESIGN.md, "Data model"); a `code` value is encoded as its
// index in the lexicographically sorted list, so a prefix such as 'E11' is an index range.
//
// Conventions:
// - ICD-10 codes use the WHO notation with a dot: 3-character categories ('E11') and, where the
//   subset has them, 4-character subcodes ('E11.9'). Both levels are in the list, so
//   `diagnosis LIKE 'E11%'` covers the category and all its subcodes. (The Danish SKS form 'DE119'
//   is the same code with a 'D' prefix and no dot; we do not use it.)
// - ATC codes are full 7-character substance codes ('A10BA02'); `atc LIKE 'A10B%'` selects the
//   oral antidiabetics, 'C10AA%' the statins.
// - Regions and municipalities use their names as codes (readable in GROUP BY results); the
//   official numeric codes (regions 1081–1085, municipalities 101–860) are in the labels and in the
//   REGIONS / MUNICIPALITIES metadata.
// - Age bands are zero-padded so that they sort in age order: '00-04', '05-09', …, '80-84', '85+'.
// - Education uses Statistics Denmark's top-level groups of highest completed education
//   (H10 … H80, H90 = not stated), which sort in level order; labels give the ISCED 2011 level.

import { makeCodeList, type CodeList } from '../ingest/schema.js';

export interface Region {
  code: string; // the name used as code
  number: number; // official region code
  name: string;
}

export const REGIONS: readonly Region[] = [
  { code: 'Nordjylland', number: 1081, name: 'Region Nordjylland' },
  { code: 'Midtjylland', number: 1082, name: 'Region Midtjylland' },
  { code: 'Syddanmark', number: 1083, name: 'Region Syddanmark' },
  { code: 'Hovedstaden', number: 1084, name: 'Region Hovedstaden' },
  { code: 'Sjælland', number: 1085, name: 'Region Sjælland' },
];

export interface Municipality {
  number: number; // official municipality code
  name: string; // used as code
  region: string; // region code (name)
  /** Approximate population (2024), used as sampling weight. */
  population: number;
}

const M = (number: number, name: string, region: string, population: number): Municipality => ({ number, name, region, population });

/** The 98 Danish municipalities (since 2007) with their region and approximate population. */
export const MUNICIPALITIES: readonly Municipality[] = [
  // Region Hovedstaden (29)
  M(101, 'København', 'Hovedstaden', 660_000),
  M(147, 'Frederiksberg', 'Hovedstaden', 105_000),
  M(151, 'Ballerup', 'Hovedstaden', 52_000),
  M(153, 'Brøndby', 'Hovedstaden', 39_000),
  M(155, 'Dragør', 'Hovedstaden', 14_500),
  M(157, 'Gentofte', 'Hovedstaden', 75_000),
  M(159, 'Gladsaxe', 'Hovedstaden', 70_000),
  M(161, 'Glostrup', 'Hovedstaden', 24_000),
  M(163, 'Herlev', 'Hovedstaden', 30_000),
  M(165, 'Albertslund', 'Hovedstaden', 28_000),
  M(167, 'Hvidovre', 'Hovedstaden', 54_000),
  M(169, 'Høje-Taastrup', 'Hovedstaden', 58_000),
  M(173, 'Lyngby-Taarbæk', 'Hovedstaden', 57_000),
  M(175, 'Rødovre', 'Hovedstaden', 41_000),
  M(183, 'Ishøj', 'Hovedstaden', 24_000),
  M(185, 'Tårnby', 'Hovedstaden', 44_000),
  M(187, 'Vallensbæk', 'Hovedstaden', 17_000),
  M(190, 'Furesø', 'Hovedstaden', 41_000),
  M(201, 'Allerød', 'Hovedstaden', 26_000),
  M(210, 'Fredensborg', 'Hovedstaden', 41_000),
  M(217, 'Helsingør', 'Hovedstaden', 64_000),
  M(219, 'Hillerød', 'Hovedstaden', 54_000),
  M(223, 'Hørsholm', 'Hovedstaden', 25_000),
  M(230, 'Rudersdal', 'Hovedstaden', 57_000),
  M(240, 'Egedal', 'Hovedstaden', 44_000),
  M(250, 'Frederikssund', 'Hovedstaden', 46_000),
  M(260, 'Gribskov', 'Hovedstaden', 41_000),
  M(270, 'Halsnæs', 'Hovedstaden', 31_000),
  M(400, 'Bornholm', 'Hovedstaden', 39_000),
  // Region Sjælland (17)
  M(253, 'Greve', 'Sjælland', 51_000),
  M(259, 'Køge', 'Sjælland', 62_000),
  M(265, 'Roskilde', 'Sjælland', 90_000),
  M(269, 'Solrød', 'Sjælland', 24_000),
  M(306, 'Odsherred', 'Sjælland', 33_000),
  M(316, 'Holbæk', 'Sjælland', 73_000),
  M(320, 'Faxe', 'Sjælland', 38_000),
  M(326, 'Kalundborg', 'Sjælland', 49_000),
  M(329, 'Ringsted', 'Sjælland', 36_000),
  M(330, 'Slagelse', 'Sjælland', 80_000),
  M(336, 'Stevns', 'Sjælland', 23_000),
  M(340, 'Sorø', 'Sjælland', 30_000),
  M(350, 'Lejre', 'Sjælland', 29_000),
  M(360, 'Lolland', 'Sjælland', 40_000),
  M(370, 'Næstved', 'Sjælland', 84_000),
  M(376, 'Guldborgsund', 'Sjælland', 60_000),
  M(390, 'Vordingborg', 'Sjælland', 46_000),
  // Region Syddanmark (22)
  M(410, 'Middelfart', 'Syddanmark', 39_000),
  M(420, 'Assens', 'Syddanmark', 41_000),
  M(430, 'Faaborg-Midtfyn', 'Syddanmark', 52_000),
  M(440, 'Kerteminde', 'Syddanmark', 24_000),
  M(450, 'Nyborg', 'Syddanmark', 32_000),
  M(461, 'Odense', 'Syddanmark', 208_000),
  M(479, 'Svendborg', 'Syddanmark', 59_000),
  M(480, 'Nordfyns', 'Syddanmark', 30_000),
  M(482, 'Langeland', 'Syddanmark', 12_000),
  M(492, 'Ærø', 'Syddanmark', 6_000),
  M(510, 'Haderslev', 'Syddanmark', 56_000),
  M(530, 'Billund', 'Syddanmark', 27_000),
  M(540, 'Sønderborg', 'Syddanmark', 74_000),
  M(550, 'Tønder', 'Syddanmark', 37_000),
  M(561, 'Esbjerg', 'Syddanmark', 116_000),
  M(563, 'Fanø', 'Syddanmark', 3_500),
  M(573, 'Varde', 'Syddanmark', 50_000),
  M(575, 'Vejen', 'Syddanmark', 43_000),
  M(580, 'Aabenraa', 'Syddanmark', 59_000),
  M(607, 'Fredericia', 'Syddanmark', 52_000),
  M(621, 'Kolding', 'Syddanmark', 95_000),
  M(630, 'Vejle', 'Syddanmark', 121_000),
  // Region Midtjylland (19)
  M(615, 'Horsens', 'Midtjylland', 99_000),
  M(657, 'Herning', 'Midtjylland', 90_000),
  M(661, 'Holstebro', 'Midtjylland', 59_000),
  M(665, 'Lemvig', 'Midtjylland', 19_000),
  M(671, 'Struer', 'Midtjylland', 21_000),
  M(706, 'Syddjurs', 'Midtjylland', 43_000),
  M(707, 'Norddjurs', 'Midtjylland', 37_000),
  M(710, 'Favrskov', 'Midtjylland', 50_000),
  M(727, 'Odder', 'Midtjylland', 23_000),
  M(730, 'Randers', 'Midtjylland', 99_000),
  M(740, 'Silkeborg', 'Midtjylland', 99_000),
  M(741, 'Samsø', 'Midtjylland', 3_700),
  M(746, 'Skanderborg', 'Midtjylland', 64_000),
  M(751, 'Aarhus', 'Midtjylland', 365_000),
  M(756, 'Ikast-Brande', 'Midtjylland', 42_000),
  M(760, 'Ringkøbing-Skjern', 'Midtjylland', 56_000),
  M(766, 'Hedensted', 'Midtjylland', 47_000),
  M(779, 'Skive', 'Midtjylland', 46_000),
  M(791, 'Viborg', 'Midtjylland', 98_000),
  // Region Nordjylland (11)
  M(773, 'Morsø', 'Nordjylland', 20_000),
  M(787, 'Thisted', 'Nordjylland', 43_000),
  M(810, 'Brønderslev', 'Nordjylland', 36_000),
  M(813, 'Frederikshavn', 'Nordjylland', 58_000),
  M(820, 'Vesthimmerlands', 'Nordjylland', 36_000),
  M(825, 'Læsø', 'Nordjylland', 1_800),
  M(840, 'Rebild', 'Nordjylland', 30_000),
  M(846, 'Mariagerfjord', 'Nordjylland', 42_000),
  M(849, 'Jammerbugt', 'Nordjylland', 38_000),
  M(851, 'Aalborg', 'Nordjylland', 222_000),
  M(860, 'Hjørring', 'Nordjylland', 64_000),
];

export interface Hospital {
  name: string; // used as code
  region: string;
  /** Relative size (share of its region's contacts); university hospitals also take referrals. */
  weight: number;
  university?: boolean;
}

const H = (name: string, region: string, weight: number, university = false): Hospital => ({ name, region, weight, university });

/** Plausible hospitals (names modelled on the real ones), each in one region. */
export const HOSPITALS: readonly Hospital[] = [
  H('Rigshospitalet', 'Hovedstaden', 10, true),
  H('Herlev og Gentofte Hospital', 'Hovedstaden', 9),
  H('Bispebjerg og Frederiksberg Hospital', 'Hovedstaden', 6),
  H('Amager og Hvidovre Hospital', 'Hovedstaden', 8),
  H('Nordsjællands Hospital Hillerød', 'Hovedstaden', 7),
  H('Bornholms Hospital', 'Hovedstaden', 1),
  H('Glostrup Hospital', 'Hovedstaden', 2),
  H('Sjællands Universitetshospital Køge', 'Sjælland', 6),
  H('Sjællands Universitetshospital Roskilde', 'Sjælland', 4),
  H('Holbæk Sygehus', 'Sjælland', 4),
  H('Slagelse Sygehus', 'Sjælland', 4),
  H('Næstved Sygehus', 'Sjælland', 3),
  H('Nykøbing Falster Sygehus', 'Sjælland', 3),
  H('Odense Universitetshospital', 'Syddanmark', 9, true),
  H('OUH Svendborg Sygehus', 'Syddanmark', 3),
  H('Sydvestjysk Sygehus Esbjerg', 'Syddanmark', 5),
  H('Sygehus Lillebælt Kolding', 'Syddanmark', 4),
  H('Sygehus Lillebælt Vejle', 'Syddanmark', 4),
  H('Sygehus Lillebælt Fredericia', 'Syddanmark', 2),
  H('Sygehus Sønderjylland Aabenraa', 'Syddanmark', 4),
  H('Aarhus Universitetshospital', 'Midtjylland', 11, true),
  H('Regionshospitalet Randers', 'Midtjylland', 4),
  H('Regionshospitalet Horsens', 'Midtjylland', 4),
  H('Regionshospitalet Gødstrup', 'Midtjylland', 6),
  H('Regionshospitalet Viborg', 'Midtjylland', 4),
  H('Regionshospitalet Silkeborg', 'Midtjylland', 2),
  H('Aalborg Universitetshospital', 'Nordjylland', 9, true),
  H('Regionshospital Nordjylland Hjørring', 'Nordjylland', 4),
  H('Aalborg Universitetshospital Thisted', 'Nordjylland', 2),
  H('Regionshospital Nordjylland Frederikshavn', 'Nordjylland', 1),
];

/** Age bands: 5-year bands '00-04' … '80-84' and '85+', zero-padded so they sort by age. */
export const AGE_BANDS: readonly string[] = [
  ...Array.from({ length: 17 }, (_, i) => `${String(5 * i).padStart(2, '0')}-${String(5 * i + 4).padStart(2, '0')}`),
  '85+',
];

/** Index into AGE_BANDS (and into the sorted age-band code list: they coincide) of an age in years. */
export function ageBandIndex(age: number): number {
  return age >= 85 ? 17 : age < 0 ? 0 : Math.floor(age / 5);
}

/** Education: Statistics Denmark's groups of highest completed education, in level order. */
export const EDUCATION: readonly [code: string, label: string][] = [
  ['H10', 'Grundskole (primary and lower secondary; ISCED 1–2)'],
  ['H20', 'Gymnasiale uddannelser (general upper secondary; ISCED 3)'],
  ['H30', 'Erhvervsfaglige uddannelser (vocational; ISCED 3–4)'],
  ['H35', 'Adgangsgivende uddannelsesforløb (access courses; ISCED 4)'],
  ['H40', 'Korte videregående uddannelser (short-cycle tertiary; ISCED 5)'],
  ['H50', 'Mellemlange videregående uddannelser (professional bachelor; ISCED 6)'],
  ['H60', 'Bacheloruddannelser (bachelor; ISCED 6)'],
  ['H70', 'Lange videregående uddannelser (master; ISCED 7)'],
  ['H80', 'Ph.d. og forskeruddannelser (doctoral; ISCED 8)'],
  ['H90', 'Uoplyst (not stated)'],
];

// ---------------------------------------------------------------------------------------------
// ICD-10 (WHO 2019 notation). Categories with labels; subcodes where listed.

const ICD_CATEGORIES: [string, string][] = [
  // I  Certain infectious and parasitic diseases
  ['A04', 'Other bacterial intestinal infections'],
  ['A08', 'Viral and other specified intestinal infections'],
  ['A09', 'Other gastroenteritis and colitis of infectious and unspecified origin'],
  ['A15', 'Respiratory tuberculosis'],
  ['A41', 'Other sepsis'],
  ['A46', 'Erysipelas'],
  ['A49', 'Bacterial infection of unspecified site'],
  ['A69', 'Other spirochaetal infections'],
  ['B00', 'Herpesviral [herpes simplex] infections'],
  ['B01', 'Varicella [chickenpox]'],
  ['B02', 'Zoster [herpes zoster]'],
  ['B18', 'Chronic viral hepatitis'],
  ['B20', 'HIV disease resulting in infectious and parasitic diseases'],
  ['B34', 'Viral infection of unspecified site'],
  ['B37', 'Candidiasis'],
  ['B99', 'Other and unspecified infectious diseases'],
  // II  Neoplasms
  ['C15', 'Malignant neoplasm of oesophagus'],
  ['C16', 'Malignant neoplasm of stomach'],
  ['C18', 'Malignant neoplasm of colon'],
  ['C20', 'Malignant neoplasm of rectum'],
  ['C22', 'Malignant neoplasm of liver and intrahepatic bile ducts'],
  ['C25', 'Malignant neoplasm of pancreas'],
  ['C34', 'Malignant neoplasm of bronchus and lung'],
  ['C43', 'Malignant melanoma of skin'],
  ['C44', 'Other malignant neoplasms of skin'],
  ['C50', 'Malignant neoplasm of breast'],
  ['C53', 'Malignant neoplasm of cervix uteri'],
  ['C54', 'Malignant neoplasm of corpus uteri'],
  ['C56', 'Malignant neoplasm of ovary'],
  ['C61', 'Malignant neoplasm of prostate'],
  ['C64', 'Malignant neoplasm of kidney, except renal pelvis'],
  ['C67', 'Malignant neoplasm of bladder'],
  ['C71', 'Malignant neoplasm of brain'],
  ['C73', 'Malignant neoplasm of thyroid gland'],
  ['C78', 'Secondary malignant neoplasm of respiratory and digestive organs'],
  ['C79', 'Secondary malignant neoplasm of other and unspecified sites'],
  ['C83', 'Non-follicular lymphoma'],
  ['C85', 'Other and unspecified types of non-Hodgkin lymphoma'],
  ['C90', 'Multiple myeloma and malignant plasma cell neoplasms'],
  ['C91', 'Lymphoid leukaemia'],
  ['C92', 'Myeloid leukaemia'],
  ['D05', 'Carcinoma in situ of breast'],
  ['D06', 'Carcinoma in situ of cervix uteri'],
  ['D12', 'Benign neoplasm of colon, rectum, anus and anal canal'],
  ['D22', 'Melanocytic naevi'],
  ['D25', 'Leiomyoma of uterus'],
  // III  Blood
  ['D50', 'Iron deficiency anaemia'],
  ['D64', 'Other anaemias'],
  ['D69', 'Purpura and other haemorrhagic conditions'],
  // IV  Endocrine, nutritional and metabolic
  ['E03', 'Other hypothyroidism'],
  ['E04', 'Other nontoxic goitre'],
  ['E05', 'Thyrotoxicosis [hyperthyroidism]'],
  ['E10', 'Type 1 diabetes mellitus'],
  ['E11', 'Type 2 diabetes mellitus'],
  ['E13', 'Other specified diabetes mellitus'],
  ['E14', 'Unspecified diabetes mellitus'],
  ['E55', 'Vitamin D deficiency'],
  ['E66', 'Obesity'],
  ['E78', 'Disorders of lipoprotein metabolism and other lipidaemias'],
  ['E86', 'Volume depletion'],
  ['E87', 'Other disorders of fluid, electrolyte and acid-base balance'],
  // V  Mental and behavioural
  ['F01', 'Vascular dementia'],
  ['F03', 'Unspecified dementia'],
  ['F10', 'Mental and behavioural disorders due to use of alcohol'],
  ['F17', 'Mental and behavioural disorders due to use of tobacco'],
  ['F20', 'Schizophrenia'],
  ['F31', 'Bipolar affective disorder'],
  ['F32', 'Depressive episode'],
  ['F33', 'Recurrent depressive disorder'],
  ['F41', 'Other anxiety disorders'],
  ['F43', 'Reaction to severe stress, and adjustment disorders'],
  ['F50', 'Eating disorders'],
  ['F60', 'Specific personality disorders'],
  ['F84', 'Pervasive developmental disorders'],
  ['F90', 'Hyperkinetic disorders'],
  // VI  Nervous system
  ['G20', 'Parkinson disease'],
  ['G30', 'Alzheimer disease'],
  ['G35', 'Multiple sclerosis'],
  ['G40', 'Epilepsy'],
  ['G43', 'Migraine'],
  ['G45', 'Transient cerebral ischaemic attacks and related syndromes'],
  ['G47', 'Sleep disorders'],
  ['G56', 'Mononeuropathies of upper limb'],
  ['G62', 'Other polyneuropathies'],
  // VII–VIII  Eye, ear
  ['H10', 'Conjunctivitis'],
  ['H25', 'Senile cataract'],
  ['H26', 'Other cataract'],
  ['H35', 'Other retinal disorders'],
  ['H36', 'Retinal disorders in diseases classified elsewhere'],
  ['H40', 'Glaucoma'],
  ['H66', 'Suppurative and unspecified otitis media'],
  ['H81', 'Disorders of vestibular function'],
  ['H90', 'Conductive and sensorineural hearing loss'],
  // IX  Circulatory
  ['I10', 'Essential (primary) hypertension'],
  ['I11', 'Hypertensive heart disease'],
  ['I20', 'Angina pectoris'],
  ['I21', 'Acute myocardial infarction'],
  ['I25', 'Chronic ischaemic heart disease'],
  ['I26', 'Pulmonary embolism'],
  ['I35', 'Nonrheumatic aortic valve disorders'],
  ['I48', 'Atrial fibrillation and flutter'],
  ['I50', 'Heart failure'],
  ['I61', 'Intracerebral haemorrhage'],
  ['I63', 'Cerebral infarction'],
  ['I64', 'Stroke, not specified as haemorrhage or infarction'],
  ['I70', 'Atherosclerosis'],
  ['I73', 'Other peripheral vascular diseases'],
  ['I80', 'Phlebitis and thrombophlebitis'],
  ['I83', 'Varicose veins of lower extremities'],
  // X  Respiratory
  ['J02', 'Acute pharyngitis'],
  ['J03', 'Acute tonsillitis'],
  ['J06', 'Acute upper respiratory infections of multiple and unspecified sites'],
  ['J10', 'Influenza due to identified seasonal influenza virus'],
  ['J18', 'Pneumonia, organism unspecified'],
  ['J20', 'Acute bronchitis'],
  ['J35', 'Chronic diseases of tonsils and adenoids'],
  ['J44', 'Other chronic obstructive pulmonary disease'],
  ['J45', 'Asthma'],
  ['J96', 'Respiratory failure, not elsewhere classified'],
  // XI  Digestive
  ['K21', 'Gastro-oesophageal reflux disease'],
  ['K25', 'Gastric ulcer'],
  ['K29', 'Gastritis and duodenitis'],
  ['K35', 'Acute appendicitis'],
  ['K40', 'Inguinal hernia'],
  ['K50', 'Crohn disease [regional enteritis]'],
  ['K51', 'Ulcerative colitis'],
  ['K56', 'Paralytic ileus and intestinal obstruction without hernia'],
  ['K57', 'Diverticular disease of intestine'],
  ['K59', 'Other functional intestinal disorders'],
  ['K64', 'Haemorrhoids and perianal venous thrombosis'],
  ['K70', 'Alcoholic liver disease'],
  ['K74', 'Fibrosis and cirrhosis of liver'],
  ['K80', 'Cholelithiasis'],
  ['K85', 'Acute pancreatitis'],
  ['K92', 'Other diseases of digestive system'],
  // XII  Skin
  ['L02', 'Cutaneous abscess, furuncle and carbuncle'],
  ['L03', 'Cellulitis'],
  ['L20', 'Atopic dermatitis'],
  ['L40', 'Psoriasis'],
  ['L89', 'Decubitus ulcer and pressure area'],
  ['L97', 'Ulcer of lower limb, not elsewhere classified'],
  // XIII  Musculoskeletal
  ['M06', 'Other rheumatoid arthritis'],
  ['M10', 'Gout'],
  ['M16', 'Coxarthrosis [arthrosis of hip]'],
  ['M17', 'Gonarthrosis [arthrosis of knee]'],
  ['M19', 'Other arthrosis'],
  ['M25', 'Other joint disorders, not elsewhere classified'],
  ['M47', 'Spondylosis'],
  ['M51', 'Other intervertebral disc disorders'],
  ['M54', 'Dorsalgia'],
  ['M75', 'Shoulder lesions'],
  ['M79', 'Other soft tissue disorders, not elsewhere classified'],
  ['M80', 'Osteoporosis with pathological fracture'],
  ['M81', 'Osteoporosis without pathological fracture'],
  // XIV  Genitourinary
  ['N10', 'Acute tubulo-interstitial nephritis'],
  ['N18', 'Chronic kidney disease'],
  ['N20', 'Calculus of kidney and ureter'],
  ['N39', 'Other disorders of urinary system'],
  ['N40', 'Hyperplasia of prostate'],
  ['N80', 'Endometriosis'],
  ['N92', 'Excessive, frequent and irregular menstruation'],
  // XV–XVII  Pregnancy, perinatal, congenital
  ['O03', 'Spontaneous abortion'],
  ['O04', 'Medical abortion'],
  ['O24', 'Diabetes mellitus in pregnancy'],
  ['O80', 'Single spontaneous delivery'],
  ['O82', 'Single delivery by caesarean section'],
  ['P07', 'Disorders related to short gestation and low birth weight'],
  ['P59', 'Neonatal jaundice from other and unspecified causes'],
  ['Q21', 'Congenital malformations of cardiac septa'],
  ['Q65', 'Congenital deformities of hip'],
  // XVIII  Symptoms and signs
  ['R00', 'Abnormalities of heart beat'],
  ['R05', 'Cough'],
  ['R06', 'Abnormalities of breathing'],
  ['R07', 'Pain in throat and chest'],
  ['R10', 'Abdominal and pelvic pain'],
  ['R11', 'Nausea and vomiting'],
  ['R42', 'Dizziness and giddiness'],
  ['R50', 'Fever of other and unknown origin'],
  ['R51', 'Headache'],
  ['R55', 'Syncope and collapse'],
  ['R69', 'Unknown and unspecified causes of morbidity'],
  // XIX  Injury and poisoning
  ['S00', 'Superficial injury of head'],
  ['S01', 'Open wound of head'],
  ['S06', 'Intracranial injury'],
  ['S42', 'Fracture of shoulder and upper arm'],
  ['S52', 'Fracture of forearm'],
  ['S61', 'Open wound of wrist and hand'],
  ['S62', 'Fracture at wrist and hand level'],
  ['S72', 'Fracture of femur'],
  ['S80', 'Superficial injury of lower leg'],
  ['S82', 'Fracture of lower leg, including ankle'],
  ['S83', 'Dislocation, sprain and strain of joints and ligaments of knee'],
  ['S93', 'Dislocation, sprain and strain of joints and ligaments at ankle and foot level'],
  ['T14', 'Injury of unspecified body region'],
  ['T42', 'Poisoning by antiepileptic, sedative-hypnotic and antiparkinsonism drugs'],
  ['T51', 'Toxic effect of alcohol'],
  ['T78', 'Adverse effects, not elsewhere classified'],
  // XXI  Factors influencing health status
  ['Z00', 'General examination and investigation of persons without complaint'],
  ['Z01', 'Other special examinations and investigations of persons without complaint'],
  ['Z03', 'Medical observation and evaluation for suspected diseases and conditions'],
  ['Z08', 'Follow-up examination after treatment for malignant neoplasm'],
  ['Z09', 'Follow-up examination after treatment for conditions other than malignant neoplasms'],
  ['Z30', 'Contraceptive management'],
  ['Z34', 'Supervision of normal pregnancy'],
  ['Z38', 'Liveborn infants according to place of birth'],
  ['Z47', 'Other orthopaedic follow-up care'],
  ['Z49', 'Care involving dialysis'],
  ['Z51', 'Other medical care'],
  ['Z76', 'Persons encountering health services in other circumstances'],
  // XXII  Codes for special purposes
  ['U07', 'Emergency use of U07'],
];

const DIABETES_4TH: [string, string][] = [
  ['0', 'with coma'],
  ['1', 'with ketoacidosis'],
  ['2', 'with renal complications'],
  ['3', 'with ophthalmic complications'],
  ['4', 'with neurological complications'],
  ['5', 'with peripheral circulatory complications'],
  ['6', 'with other specified complications'],
  ['7', 'with multiple complications'],
  ['8', 'with unspecified complications'],
  ['9', 'without complications'],
];

const ICD_SUBCODES: [string, string][] = [
  ...['E10', 'E11', 'E13', 'E14'].flatMap((c) => DIABETES_4TH.map(([d, l]): [string, string] => [`${c}.${d}`, l])),
  ['C18.0', 'Caecum'], ['C18.2', 'Ascending colon'], ['C18.4', 'Transverse colon'], ['C18.6', 'Descending colon'], ['C18.7', 'Sigmoid colon'], ['C18.9', 'Colon, unspecified'],
  ['C34.0', 'Main bronchus'], ['C34.1', 'Upper lobe, bronchus or lung'], ['C34.2', 'Middle lobe, bronchus or lung'], ['C34.3', 'Lower lobe, bronchus or lung'], ['C34.8', 'Overlapping lesion of bronchus and lung'], ['C34.9', 'Bronchus or lung, unspecified'],
  ['C50.0', 'Nipple and areola'], ['C50.1', 'Central portion of breast'], ['C50.2', 'Upper-inner quadrant of breast'], ['C50.3', 'Lower-inner quadrant of breast'], ['C50.4', 'Upper-outer quadrant of breast'], ['C50.5', 'Lower-outer quadrant of breast'], ['C50.6', 'Axillary tail of breast'], ['C50.8', 'Overlapping lesion of breast'], ['C50.9', 'Breast, unspecified'],
  ['F10.0', 'Acute intoxication'], ['F10.1', 'Harmful use'], ['F10.2', 'Dependence syndrome'], ['F10.3', 'Withdrawal state'], ['F10.4', 'Withdrawal state with delirium'],
  ['F20.0', 'Paranoid schizophrenia'], ['F20.9', 'Schizophrenia, unspecified'],
  ['F32.0', 'Mild depressive episode'], ['F32.1', 'Moderate depressive episode'], ['F32.2', 'Severe depressive episode without psychotic symptoms'], ['F32.3', 'Severe depressive episode with psychotic symptoms'], ['F32.8', 'Other depressive episodes'], ['F32.9', 'Depressive episode, unspecified'],
  ['F33.0', 'Recurrent depressive disorder, current episode mild'], ['F33.1', 'Recurrent depressive disorder, current episode moderate'], ['F33.2', 'Recurrent depressive disorder, current episode severe'], ['F33.4', 'Recurrent depressive disorder, currently in remission'], ['F33.9', 'Recurrent depressive disorder, unspecified'],
  ['F41.0', 'Panic disorder'], ['F41.1', 'Generalized anxiety disorder'], ['F41.2', 'Mixed anxiety and depressive disorder'], ['F41.9', 'Anxiety disorder, unspecified'],
  ['G40.3', 'Generalized idiopathic epilepsy'], ['G40.9', 'Epilepsy, unspecified'],
  ['I20.0', 'Unstable angina'], ['I20.8', 'Other forms of angina pectoris'], ['I20.9', 'Angina pectoris, unspecified'],
  ['I21.0', 'Acute transmural myocardial infarction of anterior wall'], ['I21.1', 'Acute transmural myocardial infarction of inferior wall'], ['I21.2', 'Acute transmural myocardial infarction of other sites'], ['I21.3', 'Acute transmural myocardial infarction of unspecified site'], ['I21.4', 'Acute subendocardial myocardial infarction'], ['I21.9', 'Acute myocardial infarction, unspecified'],
  ['I25.1', 'Atherosclerotic heart disease'], ['I25.2', 'Old myocardial infarction'], ['I25.9', 'Chronic ischaemic heart disease, unspecified'],
  ['I26.0', 'Pulmonary embolism with mention of acute cor pulmonale'], ['I26.9', 'Pulmonary embolism without mention of acute cor pulmonale'],
  ['I48.0', 'Paroxysmal atrial fibrillation'], ['I48.1', 'Persistent atrial fibrillation'], ['I48.2', 'Chronic atrial fibrillation'], ['I48.9', 'Atrial fibrillation and atrial flutter, unspecified'],
  ['I50.0', 'Congestive heart failure'], ['I50.1', 'Left ventricular failure'], ['I50.9', 'Heart failure, unspecified'],
  ['I63.0', 'Cerebral infarction due to thrombosis of precerebral arteries'], ['I63.3', 'Cerebral infarction due to thrombosis of cerebral arteries'], ['I63.4', 'Cerebral infarction due to embolism of cerebral arteries'], ['I63.5', 'Cerebral infarction due to unspecified occlusion or stenosis of cerebral arteries'], ['I63.8', 'Other cerebral infarction'], ['I63.9', 'Cerebral infarction, unspecified'],
  ['J18.0', 'Bronchopneumonia, unspecified'], ['J18.1', 'Lobar pneumonia, unspecified'], ['J18.9', 'Pneumonia, unspecified'],
  ['J44.0', 'COPD with acute lower respiratory infection'], ['J44.1', 'COPD with acute exacerbation, unspecified'], ['J44.8', 'Other specified chronic obstructive pulmonary disease'], ['J44.9', 'Chronic obstructive pulmonary disease, unspecified'],
  ['J45.0', 'Predominantly allergic asthma'], ['J45.1', 'Nonallergic asthma'], ['J45.8', 'Mixed asthma'], ['J45.9', 'Asthma, unspecified'],
  ['K35.2', 'Acute appendicitis with generalized peritonitis'], ['K35.3', 'Acute appendicitis with localized peritonitis'], ['K35.8', 'Acute appendicitis, other and unspecified'],
  ['K80.0', 'Calculus of gallbladder with acute cholecystitis'], ['K80.1', 'Calculus of gallbladder with other cholecystitis'], ['K80.2', 'Calculus of gallbladder without cholecystitis'], ['K80.5', 'Calculus of bile duct without cholangitis or cholecystitis'],
  ['M16.0', 'Primary coxarthrosis, bilateral'], ['M16.1', 'Other primary coxarthrosis'], ['M16.9', 'Coxarthrosis, unspecified'],
  ['M17.0', 'Primary gonarthrosis, bilateral'], ['M17.1', 'Other primary gonarthrosis'], ['M17.9', 'Gonarthrosis, unspecified'],
  ['N18.1', 'Chronic kidney disease, stage 1'], ['N18.2', 'Chronic kidney disease, stage 2'], ['N18.3', 'Chronic kidney disease, stage 3'], ['N18.4', 'Chronic kidney disease, stage 4'], ['N18.5', 'Chronic kidney disease, stage 5'], ['N18.9', 'Chronic kidney disease, unspecified'],
  ['N39.0', 'Urinary tract infection, site not specified'],
  ['R07.3', 'Other chest pain'], ['R07.4', 'Chest pain, unspecified'],
  ['R10.1', 'Pain localized to upper abdomen'], ['R10.4', 'Other and unspecified abdominal pain'],
  ['S06.0', 'Concussion'], ['S06.9', 'Intracranial injury, unspecified'],
  ['S42.0', 'Fracture of clavicle'], ['S42.2', 'Fracture of upper end of humerus'],
  ['S52.5', 'Fracture of lower end of radius'], ['S52.6', 'Fracture of lower end of both ulna and radius'],
  ['S72.0', 'Fracture of neck of femur'], ['S72.1', 'Pertrochanteric fracture'], ['S72.2', 'Subtrochanteric fracture'], ['S72.3', 'Fracture of shaft of femur'], ['S72.4', 'Fracture of lower end of femur'],
  ['S82.5', 'Fracture of medial malleolus'], ['S82.6', 'Fracture of lateral malleolus'], ['S82.8', 'Fractures of other parts of lower leg'],
  ['S93.4', 'Sprain and strain of ankle'],
  ['U07.1', 'COVID-19, virus identified'], ['U07.2', 'COVID-19, virus not identified'],
  ['Z00.0', 'General medical examination'],
  ['Z03.8', 'Observation for other suspected diseases and conditions'], ['Z03.9', 'Observation for suspected disease or condition, unspecified'],
  ['Z38.0', 'Singleton, born in hospital'],
];

function icdEntries(): [string, string][] {
  const cat = new Map(ICD_CATEGORIES);
  return [
    ...ICD_CATEGORIES,
    ...ICD_SUBCODES.map(([code, label]): [string, string] => {
      const parent = cat.get(code.slice(0, 3));
      if (parent === undefined) throw new Error(`ICD-10 subcode ${code} has no category in the list`);
      return [code, /^with/.test(label) ? `${parent} ${label}` : label];
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// ATC (WHO ATC/DDD index), 7-character substance codes with the DDD in mg-or-unit per day noted
// only in the label where it helps reading.

const ATC_ENTRIES: [string, string][] = [
  // A  Alimentary tract and metabolism
  ['A02BC01', 'omeprazole'], ['A02BC02', 'pantoprazole'], ['A02BC05', 'esomeprazole'],
  ['A06AD11', 'lactulose'], ['A06AD65', 'macrogol, combinations'],
  ['A10AB01', 'insulin (human), fast-acting'], ['A10AB04', 'insulin lispro'], ['A10AB05', 'insulin aspart'],
  ['A10AC01', 'insulin (human), intermediate-acting'], ['A10AD05', 'insulin aspart, intermediate- and fast-acting'],
  ['A10AE04', 'insulin glargine'], ['A10AE05', 'insulin detemir'], ['A10AE06', 'insulin degludec'],
  ['A10BA02', 'metformin'], ['A10BB09', 'gliclazide'], ['A10BB12', 'glimepiride'],
  ['A10BD07', 'metformin and sitagliptin'], ['A10BH01', 'sitagliptin'], ['A10BH02', 'vildagliptin'], ['A10BH05', 'linagliptin'],
  ['A10BJ02', 'liraglutide'], ['A10BJ05', 'dulaglutide'], ['A10BJ06', 'semaglutide'],
  ['A10BK01', 'dapagliflozin'], ['A10BK03', 'empagliflozin'],
  ['A11CC05', 'colecalciferol'], ['A12AX', 'calcium, combinations with vitamin D'],
  // B  Blood
  ['B01AA03', 'warfarin'], ['B01AC06', 'acetylsalicylic acid'], ['B01AC04', 'clopidogrel'], ['B01AC24', 'ticagrelor'],
  ['B01AF01', 'rivaroxaban'], ['B01AF02', 'apixaban'], ['B01AE07', 'dabigatran etexilate'],
  ['B03AA07', 'ferrous sulfate'],
  // C  Cardiovascular
  ['C01AA05', 'digoxin'], ['C01DA02', 'glyceryl trinitrate'],
  ['C03AB01', 'bendroflumethiazide and potassium'], ['C03CA01', 'furosemide'], ['C03DA01', 'spironolactone'],
  ['C07AB02', 'metoprolol'], ['C07AB07', 'bisoprolol'], ['C07AG02', 'carvedilol'],
  ['C08CA01', 'amlodipine'], ['C08CA13', 'lercanidipine'],
  ['C09AA02', 'enalapril'], ['C09AA05', 'ramipril'], ['C09CA01', 'losartan'], ['C09CA03', 'valsartan'], ['C09CA06', 'candesartan'],
  ['C09DX04', 'valsartan and sacubitril'],
  ['C10AA01', 'simvastatin'], ['C10AA05', 'atorvastatin'], ['C10AA07', 'rosuvastatin'], ['C10AX09', 'ezetimibe'],
  // D  Dermatologicals
  ['D07AC01', 'betamethasone'], ['D07AB02', 'hydrocortisone butyrate'],
  // G  Genito-urinary system and sex hormones
  ['G03AA07', 'levonorgestrel and ethinylestradiol'], ['G03AC03', 'levonorgestrel'], ['G03CA03', 'estradiol'],
  ['G04BD08', 'solifenacin'], ['G04CA02', 'tamsulosin'],
  // H  Systemic hormonal preparations
  ['H02AB06', 'prednisolone'], ['H03AA01', 'levothyroxine sodium'], ['H03BB02', 'thiamazole'],
  // J  Antiinfectives for systemic use
  ['J01AA02', 'doxycycline'], ['J01CA04', 'amoxicillin'], ['J01CA08', 'pivmecillinam'], ['J01CE02', 'phenoxymethylpenicillin'],
  ['J01CF05', 'flucloxacillin'], ['J01CR02', 'amoxicillin and beta-lactamase inhibitor'], ['J01EA01', 'trimethoprim'],
  ['J01FA09', 'clarithromycin'], ['J01FA10', 'azithromycin'], ['J01MA02', 'ciprofloxacin'], ['J01XE01', 'nitrofurantoin'],
  ['J05AB11', 'valaciclovir'],
  // L  Antineoplastic and immunomodulating agents
  ['L02AE02', 'leuprorelin'], ['L02BA01', 'tamoxifen'], ['L02BG04', 'letrozole'], ['L04AX03', 'methotrexate'],
  // M  Musculo-skeletal system
  ['M01AE01', 'ibuprofen'], ['M01AE02', 'naproxen'], ['M01AB05', 'diclofenac'], ['M04AA01', 'allopurinol'], ['M05BA04', 'alendronic acid'],
  // N  Nervous system
  ['N02AA01', 'morphine'], ['N02AA05', 'oxycodone'], ['N02AX02', 'tramadol'], ['N02BE01', 'paracetamol'], ['N02CC01', 'sumatriptan'],
  ['N03AX09', 'lamotrigine'], ['N03AX12', 'gabapentin'], ['N03AX14', 'levetiracetam'], ['N03AX16', 'pregabalin'], ['N03AG01', 'valproic acid'],
  ['N04BA02', 'levodopa and decarboxylase inhibitor'],
  ['N05AH03', 'olanzapine'], ['N05AH04', 'quetiapine'], ['N05AX08', 'risperidone'], ['N05AN01', 'lithium'],
  ['N05BA04', 'oxazepam'], ['N05CF01', 'zopiclone'], ['N05CH01', 'melatonin'],
  ['N06AB04', 'citalopram'], ['N06AB06', 'sertraline'], ['N06AB10', 'escitalopram'], ['N06AX11', 'mirtazapine'], ['N06AX16', 'venlafaxine'], ['N06AX21', 'duloxetine'],
  ['N06BA04', 'methylphenidate'], ['N06BA12', 'lisdexamfetamine'], ['N06DA02', 'donepezil'], ['N06DX01', 'memantine'],
  ['N07BA01', 'nicotine'],
  // R  Respiratory system
  ['R03AC02', 'salbutamol'], ['R03AC13', 'formoterol'], ['R03AK06', 'salmeterol and fluticasone'], ['R03AK07', 'formoterol and budesonide'],
  ['R03AL03', 'vilanterol and umeclidinium bromide'], ['R03BA02', 'budesonide'], ['R03BB04', 'tiotropium bromide'], ['R03DC03', 'montelukast'],
  ['R05DA04', 'codeine'], ['R06AE07', 'cetirizine'], ['R06AX27', 'desloratadine'], ['R06AX13', 'loratadine'],
  // S  Sensory organs
  ['S01AA01', 'chloramphenicol'], ['S01ED01', 'timolol'], ['S01EE01', 'latanoprost'],
];

export const CODE_LIST_NAMES = {
  region: 'region',
  municipality: 'municipality',
  sex: 'sex',
  ageBand: 'age_band',
  icd10: 'icd10',
  atc: 'atc',
  hospital: 'hospital',
  education: 'education',
} as const;

export const regionList: CodeList = makeCodeList(
  CODE_LIST_NAMES.region,
  REGIONS.map((r) => [r.code, `${r.name} (${r.number})`]),
  'Danish regions (names as codes; official codes 1081–1085 in the labels)',
);

export const municipalityList: CodeList = makeCodeList(
  CODE_LIST_NAMES.municipality,
  MUNICIPALITIES.map((m) => [m.name, `${m.name} Kommune (${m.number}), Region ${m.region}`]),
  'The 98 Danish municipalities (names as codes; official codes in the labels)',
);

export const sexList: CodeList = makeCodeList(CODE_LIST_NAMES.sex, [['F', 'female'], ['M', 'male']], 'Sex as registered in CPR');

export const ageBandList: CodeList = makeCodeList(
  CODE_LIST_NAMES.ageBand,
  AGE_BANDS.map((b) => [b, b === '85+' ? '85 years and over' : `${b.replace('-', ' to ')} years`]),
  'Five-year age bands, zero-padded so that code order is age order',
);

export const icd10List: CodeList = makeCodeList(
  CODE_LIST_NAMES.icd10,
  icdEntries(),
  'ICD-10 subset (WHO notation: 3-character categories and dotted 4-character subcodes, e.g. E11 and E11.9)',
);

export const atcList: CodeList = makeCodeList(CODE_LIST_NAMES.atc, ATC_ENTRIES, 'ATC subset (7-character substance codes, e.g. A10BA02 metformin)');

export const hospitalList: CodeList = makeCodeList(
  CODE_LIST_NAMES.hospital,
  HOSPITALS.map((h) => [h.name, `Region ${h.region}`]),
  'Hospitals (synthetic, modelled on Danish public hospitals; label = region)',
);

export const educationList: CodeList = makeCodeList(
  CODE_LIST_NAMES.education,
  EDUCATION.map(([c, l]) => [c, l]),
  "Highest completed education, Statistics Denmark's groups H10–H80 (H90 = not stated)",
);

/** Every code list the demo registers use, by name. */
export function demoCodeLists(): Map<string, CodeList> {
  const lists = [regionList, municipalityList, sexList, ageBandList, icd10List, atcList, hospitalList, educationList];
  return new Map(lists.map((l) => [l.name, l]));
}

/** Index of a code in a list; throws if absent (for building generator tables from codes). */
export function codeIndex(list: CodeList, code: string): number {
  let lo = 0, hi = list.codes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list.codes[mid]! < code) lo = mid + 1;
    else hi = mid;
  }
  if (list.codes[lo] !== code) throw new Error(`code '${code}' is not in code list ${list.name}`);
  return lo;
}
